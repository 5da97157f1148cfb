// Test page for the NetEq experiment (issue 17; client/src/lib/audio/neteq.ts): the product's
// VoiceSession captures and encodes, its payloads go through a simulated network (loss, jitter) into
// a NetEqPlayout, and what NetEq plays is recorded on the session's AudioContext clock, next to
// what the session captured, so a test can read the delay and compare the sound with our own
// jitter buffer's (harness.ts, same network). Driven by test/e2e/voice-neteq.test.ts.
import { NetEqPlayout } from '../neteq.ts';
import { decodePayload, Flag } from '../payload.ts';
import { VoiceSession } from '../voice-session.ts';
import { seededRandom, toBase64 } from './pcm.ts';

interface NetOptions {
  loss: number;
  baseMs: number;
  jitterMs: number;
  /** NetEq's minimum delay hint (jitterBufferTarget), ms. */
  targetMs?: number;
}

// Records 128-frame blocks with their context frame (harness only: a Blob module is fine here).
const RECORDER = `registerProcessor('rec', class extends AudioWorkletProcessor {
  process(inputs) { const c = inputs[0] && inputs[0][0]; if (c) this.port.postMessage({ at: currentFrame, pcm: c.slice() }); return true; }
});`;

let session: VoiceSession | undefined;
let neteq: NetEqPlayout | undefined;
const random = seededRandom();
const out: { at: number; pcm: Float32Array }[] = [];

async function record(ctx: AudioContext, stream: MediaStream): Promise<void> {
  const url = URL.createObjectURL(new Blob([RECORDER], { type: 'text/javascript' }));
  await ctx.audioWorklet.addModule(url);
  const node = new AudioWorkletNode(ctx, 'rec');
  node.port.onmessage = (e) => {
    if (out.length < 50 * 40 * 8) out.push(e.data as { at: number; pcm: Float32Array });
  };
  ctx.createMediaStreamSource(stream).connect(node);
}

function outputTrack(): { startFrame: number; pcm: Float32Array } {
  if (out.length === 0) return { startFrame: 0, pcm: new Float32Array(0) };
  const start = out[0]!.at;
  const pcm = new Float32Array(out.at(-1)!.at + 128 - start);
  for (const b of out) pcm.set(b.pcm, b.at - start);
  return { startFrame: start, pcm };
}

const harness = {
  async start(o: Partial<NetOptions> = {}): Promise<void> {
    const net: NetOptions = { loss: 0, baseMs: 5, jitterMs: 0, ...o };
    // Echo cancellation off: in a loopback the "echo" is the very signal under test.
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: false, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
    neteq = await NetEqPlayout.open({ targetMs: net.targetMs });
    session = new VoiceSession({
      stream,
      tap: true,
      tapSeconds: 40,
      send: (p) => {
        if (random() < net.loss) return;
        const f = decodePayload(p);
        if (!(f.flags & Flag.VOICE)) return;
        setTimeout(() => neteq?.push(f.seq, f.opus), net.baseMs + random() * net.jitterMs);
      },
    });
    await session.start();
    await record(session.ctx!, neteq.stream!);
  },
  stats: async () => ({ ...(await neteq!.stats()), sentFrames: session?.stats().sent ?? 0 }),
  tracks() {
    const input = session!.tap!.tracks().input;
    const output = outputTrack();
    return {
      input: { startFrame: input.startFrame, pcm: toBase64(input.pcm) },
      output: { startFrame: output.startFrame, pcm: toBase64(output.pcm) },
    };
  },
  stop: async () => {
    await session?.stop();
    neteq?.close();
  },
};

(window as unknown as { voiceNetEq: typeof harness }).voiceNetEq = harness;
