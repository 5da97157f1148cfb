// Test page for the audio path alone (no relays): one VoiceSession whose payloads go through a
// simulated network (loss, jitter) straight back into its own receive(). Driven by
// test/e2e/voice-loopback.test.ts and test/bench/voice.ts through window.voiceHarness.
import { VoiceSession } from '../voice-session.ts';
import { seededRandom, toBase64 } from './pcm.ts';

interface NetOptions {
  loss: number;
  baseMs: number;
  jitterMs: number;
  /** Turn off echo cancellation: in a loopback the "echo" is the very signal under test. */
  aec: boolean;
}

let session: VoiceSession | undefined;
let stream: MediaStream | undefined;
const random = seededRandom();

const harness = {
  async start(o: Partial<NetOptions> = {}): Promise<void> {
    const net: NetOptions = { loss: 0, baseMs: 5, jitterMs: 0, aec: false, ...o };
    stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: net.aec, noiseSuppression: true, autoGainControl: true, channelCount: 1 },
    });
    session = new VoiceSession({
      stream,
      tap: true,
      tapSeconds: 40,
      send: (p) => {
        if (random() < net.loss) return;
        setTimeout(() => session?.receive(p), net.baseMs + random() * net.jitterMs);
      },
    });
    await session.start();
  },
  /**
   * One side of a call without relays: the product's VoiceSession on the page's default
   * microphone (the product's constraints: echo cancellation on), its payloads to and from a
   * WebSocket that the benchmark forwards to the other page (test/bench/_device-voice.ts).
   */
  async peer(
    url: string,
    jitter: Record<string, number> = {},
    mic?: MediaTrackConstraints,
    capture?: 'worklet' | 'track',
    playout?: 'worklet' | 'neteq',
  ): Promise<void> {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    // `mic`: other microphone processing than the product's (the double-talk A/B in the bench).
    stream = mic ? await navigator.mediaDevices.getUserMedia({ audio: mic }) : undefined;
    session = new VoiceSession({
      tap: false,
      stream,
      capture,
      playout,
      jitter,
      send: (p) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(p.slice());
      },
    });
    ws.onmessage = (e) => session?.receive(new Uint8Array(e.data as ArrayBuffer));
    await session.start();
  },
  stats: () => session?.stats(),
  ctx: () => session?.ctx,
  inLatency: () => (stream?.getAudioTracks()[0]?.getSettings() as { latency?: number } | undefined)?.latency,
  workletFrom: () => session?.workletFrom,
  captureFrom: () => session?.captureFrom,
  setMuted: (m: boolean) => session?.setMuted(m),
  latencies: () => ({ base: session?.ctx?.baseLatency ?? 0, output: session?.ctx?.outputLatency ?? 0 }),
  tracks() {
    const t = session!.tap!.tracks();
    return {
      input: { startFrame: t.input.startFrame, pcm: toBase64(t.input.pcm) },
      output: { startFrame: t.output.startFrame, pcm: toBase64(t.output.pcm) },
    };
  },
  stop: () => session?.stop(),
};

(window as unknown as { voiceHarness: typeof harness }).voiceHarness = harness;
