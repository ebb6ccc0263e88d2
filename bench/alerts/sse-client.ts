/**
 * Child process for bench/alerts: the control room. One SSE client over real HTTP on
 * `GET /api/alerts/stream` (bearer token), in its own process so that neither the publishers nor
 * the platform's event loop delay the moment an event is read. For every `raised` event it reports
 * the alarm's originator, type and start time (the triggering reading's ts) with the local receive
 * time (Date.now(), the same clock the publishers stamp into `seq`).
 */
import { request } from 'node:http';
import { pinProcess } from '../common/cpu-affinity.js';
import { niceAll } from '../common/nice.js';

/**
 * `nice`: this process's nice value, every thread (bench/alerts `--nice-publishers`; absent or 0: unchanged);
 * `cpus`: the CPUs it runs on (`--cpus`' LOAD; absent: wherever the bench runs).
 */
interface Job { url: string; token: string; nice?: number; cpus?: string }

export interface SseRaised { type: 'raised'; seq: number; alarmType: string; device: string; startMs: number; receivedAt: number }

function send(message: unknown): void {
  process.send?.(message);
}

function start(job: Job): void {
  try {
    if (job.cpus) pinProcess(process.pid, job.cpus);
  } catch (err) {
    send({ type: 'error', message: `SSE client: ${(err as Error).message}` });
    process.exit(1);
  }
  if (job.nice) niceAll(job.nice, 'SSE client');
  const req = request(job.url, { headers: { authorization: `Bearer ${job.token}`, accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) {
      send({ type: 'error', message: `SSE answered ${res.statusCode}` });
      process.exit(1);
    }
    send({ type: 'ready' });
    res.setEncoding('utf8');
    let buf = '';
    res.on('data', (chunk: string) => {
      const receivedAt = Date.now();
      buf += chunk;
      let end: number;
      while ((end = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        let event = 'message';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (!data) continue;
        if (event !== 'raised') {
          send({ type: 'other', event });
          continue;
        }
        const e = JSON.parse(data) as { seq: number; alarm: { type: string; originator: { id: string }; startTime: string } };
        const m: SseRaised = { type: 'raised', seq: e.seq, alarmType: e.alarm.type, device: e.alarm.originator.id, startMs: Date.parse(e.alarm.startTime), receivedAt };
        send(m);
      }
    });
    res.on('end', () => send({ type: 'ended' }));
  });
  req.on('error', (err) => { send({ type: 'error', message: err.message }); process.exit(1); });
  req.end();
}

process.once('disconnect', () => process.exit(0));
process.on('message', (m: Job | { type: 'stop' }) => {
  if ('type' in m) process.exit(0);
  else start(m);
});
