/** Why a validator call gave no answer that can be judged (an unavailable reason), and whether the token had left. */
import type { UnavailableReason } from '../pipeline/reasons.js';

export class ValidatorCallError extends Error {
  readonly reason: UnavailableReason;
  /** The call failed before the request (and so the token) left: it says nothing about the token. */
  readonly beforeSending: boolean;
  constructor(reason: UnavailableReason, message: string, beforeSending = false) {
    super(message);
    this.name = 'ValidatorCallError';
    this.reason = reason;
    this.beforeSending = beforeSending;
  }
}
