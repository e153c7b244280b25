/** Binding a node:http server and naming where it listens. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server could not listen: the message names which one and where (`admin port 127.0.0.1:9090`). */
export class ListenError extends Error {
  override name = 'ListenError';
  readonly code: string;
  constructor(what: string, host: string, port: number, code: string) {
    super(`cannot listen on the ${what} ${host}:${port} (${code}${code === 'EADDRINUSE' ? ': something else listens there' : ''})`);
    this.code = code;
  }
}

/** `what`: which server this is, for the error message ("gateway port", "admin port"). */
export function listen(server: Server, port: number, host: string, what = 'port'): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (error: NodeJS.ErrnoException) => reject(new ListenError(what, host, port, error.code ?? error.message));
    server.once('error', fail);
    server.listen(port, host, () => {
      server.off('error', fail);
      resolve();
    });
  });
}

export function urlOf(server: Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}
