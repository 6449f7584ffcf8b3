// Local ports for the children: each process gets its own METRICS_PORT and GRPC_PORT.
import { createServer, type Server } from 'node:net';

function listen(port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

/** `count` distinct free ports (held together while chosen, so none is handed out twice). */
export async function freePorts(count: number, host = '0.0.0.0'): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await listen(0, host));
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error('no TCP address for a free port');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map(close));
  }
}

/** Whether `port` can be listened on now (the components listen on every interface). */
export async function portIsFree(port: number, host = '0.0.0.0'): Promise<boolean> {
  try {
    await close(await listen(port, host));
    return true;
  } catch {
    return false;
  }
}
