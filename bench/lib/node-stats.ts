// Counters of the processes a benchmark measures, read at the start and end of a window: a
// redis-server's own figures (INFO: memory, CPU, bytes in and out, commands) and what /proc says a
// process read and wrote (rchar / wchar: every read and write call, sockets included).
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

export type RedisInfo = {
  usedMemory: number;
  /** Buffers of client and replica connections (mem_clients_normal + mem_clients_slaves): memory that follows connections, not data. */
  clientsMemory: number;
  /** used_cpu_user + used_cpu_sys, ms (all of the server's threads). */
  cpuMs: number;
  netIn: number;
  netOut: number;
  commands: number;
};

function field(info: string, name: string): number {
  const m = new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info);
  return m ? Number(m[1]) : NaN;
}

/** One node's counters (a plain connection to that node, not a cluster client). */
export async function redisInfo(r: Redis): Promise<RedisInfo> {
  const info = await r.info();
  return {
    usedMemory: field(info, 'used_memory'),
    clientsMemory: field(info, 'mem_clients_normal') + field(info, 'mem_clients_slaves'),
    cpuMs: (field(info, 'used_cpu_user') + field(info, 'used_cpu_sys')) * 1000,
    netIn: field(info, 'total_net_input_bytes'),
    netOut: field(info, 'total_net_output_bytes'),
    commands: field(info, 'total_commands_processed'),
  };
}

/** Bytes a process has read and written through system calls so far (sockets included), or null when it is gone. */
export function processIo(pid: number): { rchar: number; wchar: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const rchar = /^rchar:\s+(\d+)/m.exec(text);
    const wchar = /^wchar:\s+(\d+)/m.exec(text);
    return rchar && wchar ? { rchar: Number(rchar[1]), wchar: Number(wchar[1]) } : null;
  } catch {
    return null;
  }
}
