// The redis-server a benchmark starts, seen from outside: its pid, so that its CPU can be read from /proc.
import { closeRedis, createRedis } from '@vigil/store';

export async function redisServerPid(url: string): Promise<number | null> {
  const client = createRedis(url, 'command');
  try {
    const m = /process_id:(\d+)/.exec(await client.info('server'));
    return m ? Number(m[1]) : null;
  } finally {
    await closeRedis(client);
  }
}
