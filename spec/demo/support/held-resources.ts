/**
 * What a running process holds open, read from /proc (Linux): the files it has open, and its TCP
 * connections to a port with the bytes waiting unread in each. A download whose storage stream was
 * not released when its client left keeps one of these forever.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** A TCP connection of the process, as /proc/<pid>/net/tcp{,6} lists it. */
export interface HeldSocket {
  readonly remotePort: number;
  /** Bytes received by the kernel and not yet read by the process. */
  readonly unread: number;
}

/** The paths of the files `pid` has open that start with `prefix`. */
export function openFiles(pid: number, prefix: string): string[] {
  return descriptorTargets(pid).filter((target) => target.startsWith(prefix));
}

/** The TCP connections of `pid` to `remotePort`. */
export function socketsTo(pid: number, remotePort: number): HeldSocket[] {
  const inodes = new Set(descriptorTargets(pid).flatMap((target) => /^socket:\[(\d+)\]$/.exec(target)?.[1] ?? []));
  const sockets: HeldSocket[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || !inodes.has(fields[9]!)) continue;
      const port = parseInt(fields[2]!.split(':')[1]!, 16);
      if (port !== remotePort) continue;
      sockets.push({ remotePort: port, unread: parseInt(fields[4]!.split(':')[1]!, 16) });
    }
  }
  return sockets;
}

/** Where each of `pid`'s file descriptors points (`/path`, `socket:[inode]`, `pipe:[...]`). */
function descriptorTargets(pid: number): string[] {
  const targets: string[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      targets.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      // Closed between the listing and the read.
    }
  }
  return targets;
}
