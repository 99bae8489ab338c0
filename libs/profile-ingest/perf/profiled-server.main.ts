// Runs a built single-node server (SERVER_MAIN, default this checkout's dist/apps/tessera/src/main.js) with a
// V8 CPU profiler switched by signals (issue 12 ingest measure): SIGUSR2 starts it, the next SIGUSR2 writes the
// profile to $INGEST_CPU_PROFILE.<n>.cpuprofile. Nothing in the app changes; without SIGUSR2 nothing runs.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { resolve } from 'node:path';

let session: Session | undefined;
let n = 0;
process.on('SIGUSR2', () => {
  if (!session) {
    session = new Session();
    session.connect();
    session.post('Profiler.enable');
    session.post('Profiler.setSamplingInterval', { interval: 250 });
    session.post('Profiler.start');
    return;
  }
  const s = session;
  session = undefined;
  s.post('Profiler.stop', (err, res) => {
    if (!err) writeFileSync(`${process.env.INGEST_CPU_PROFILE ?? 'server'}.${n++}.cpuprofile`, JSON.stringify(res.profile));
    s.disconnect();
  });
});

require(resolve(process.env.SERVER_MAIN ?? `${__dirname}/../../../apps/tessera/src/main.js`));
