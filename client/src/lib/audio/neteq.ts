// Playing the tunnel's Opus frames through WebRTC's own receiver (NetEq) instead of our jitter buffer
// and worklet (issue 17, experiment; docs/audio.md "WebRTC's NetEq for our frames"). Two
// RTCPeerConnections looped back inside this page over 127.0.0.1: the sender encodes a silent track
// (one frame per 20 ms, its RTP clock) and its encoded transform swaps each frame's bytes for the
// tunnel's next frame (NetEqFeed pairs them); the receiver's NetEq decodes them with in-band FEC,
// time-stretching and libopus concealment, and its track plays through an <audio> element, which
// is the path the browser's echo canceller knows. Nothing leaves the machine: the cells are
// untouched and both peer connections use loopback or the machine's own addresses only
// (localCandidatesOnly).
import { NetEqFeed, type NetEqFeedStats } from './neteq-feed.ts';

type EncodedFrame = RTCEncodedAudioFrame;
interface EncodedStreams {
  readable: ReadableStream<EncodedFrame>;
  writable: WritableStream<EncodedFrame>;
}
type WithEncodedStreams = { createEncodedStreams(): EncodedStreams };

export interface NetEqStats extends NetEqFeedStats {
  /** NetEq's average playout delay over the last second (jitterBufferDelay / emitted), ms. */
  jitterMs: number;
  /** NetEq's target delay, ms. */
  targetMs: number;
  concealedSamples: number;
  totalSamples: number;
  /** Packets NetEq recovered from the next packet's in-band FEC (Chromium's stats name). */
  fecPackets: number;
  /** The most concealment in one poll interval (half a second), ms: the longest gap, roughly. */
  worstConcealedMs: number;
}

/** How often the call's figures are read from WebRTC (getStats is asynchronous). */
const POLL_MS = 500;

const LOOPBACK = /^(127\.|::1$)/;
const LITERAL_IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]*:[0-9a-f:.]*)$/i;

/**
 * Keeps the candidates that stay inside this machine. 127.0.0.1 / ::1 when the browser offers them
 * (stock Chromium does not: only with --allow-loopback-in-peer-connection, as the tests run it),
 * else UDP host candidates on the machine's own interface addresses, which Chromium offers once the
 * page has the microphone permission: packets between two of the machine's own addresses never
 * leave it. No STUN or TURN server is configured; mDNS names (`….local`, offered without the
 * permission) are dropped, since resolving them would ask the LAN.
 */
export function localCandidatesOnly(sdp: string): string {
  const lines = sdp.split('\r\n');
  // a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> …
  const cands = lines
    .filter((l) => l.startsWith('a=candidate'))
    .map((l) => ({ l, f: l.split(' ') }))
    .filter(({ f }) => f[2]?.toLowerCase() === 'udp' && f[7] === 'host' && LITERAL_IP.test(f[4] ?? ''));
  const loop = cands.filter(({ f }) => LOOPBACK.test(f[4]!));
  const keep = new Set((loop.length > 0 ? loop : cands).map(({ l }) => l));
  return lines.filter((l) => !l.startsWith('a=candidate') || keep.has(l)).join('\r\n');
}

function gathered(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const timer = setTimeout(() => reject(new Error('ICE gathering timed out')), timeoutMs);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState !== 'complete') return;
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Resolves once the peer connection is connected; rejects on failure or after `timeoutMs`. */
function connected(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (pc.connectionState === 'connected') return resolve();
    const timer = setTimeout(
      () => reject(new Error(`the loopback peer connections did not connect within ${timeoutMs} ms`)),
      timeoutMs,
    );
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') resolve();
      else if (pc.connectionState === 'failed') reject(new Error('the loopback peer connections failed'));
      else return;
      clearTimeout(timer);
    });
  });
}

export class NetEqPlayout {
  private readonly feed: NetEqFeed<EncodedFrame>;
  private controller: TransformStreamDefaultController<EncodedFrame> | undefined;
  private last = { at: 0, delay: 0, emitted: 0 };
  readonly audio = new Audio();
  stream: MediaStream | undefined;
  /** NetEq's figures as of the last poll (every POLL_MS once playing), for the call's stats. */
  latest: NetEqStats | undefined;
  private poll: ReturnType<typeof setInterval> | undefined;
  private worstConcealedMs = 0;

  private constructor(
    private readonly send: RTCPeerConnection,
    private readonly recv: RTCPeerConnection,
    private readonly source: AudioContext,
  ) {
    this.feed = new NetEqFeed<EncodedFrame>({
      emit: (f, opus) => {
        f.data = opus.slice().buffer;
        this.controller?.enqueue(f);
      },
      drop: () => {},
    });
  }

  /**
   * Needs the page's microphone permission already granted (without it Chromium offers only mDNS
   * names, which localCandidatesOnly drops) and a network interface besides loopback (stock
   * Chromium offers no 127.0.0.1). `targetMs` is a hint for NetEq's minimum delay (`jitterBufferTarget`).
   */
  static async open(o: { targetMs?: number; timeoutMs?: number } = {}): Promise<NetEqPlayout> {
    const cfg = { encodedInsertableStreams: true } as RTCConfiguration;
    const send = new RTCPeerConnection(cfg);
    const recv = new RTCPeerConnection(cfg);
    const ctx = new AudioContext();
    const silence = ctx.createConstantSource();
    silence.offset.value = 0;
    const dst = ctx.createMediaStreamDestination();
    silence.connect(dst);
    silence.start();
    const p = new NetEqPlayout(send, recv, ctx);
    const sender = send.addTrack(dst.stream.getAudioTracks()[0]!, dst.stream);
    p.swapFrames((sender as unknown as WithEncodedStreams).createEncodedStreams());
    const track = new Promise<RTCTrackEvent>((r) => recv.addEventListener('track', r, { once: true }));
    try {
      await p.connect(o.timeoutMs ?? 5000);
      const ev = await track;
      const rs = (ev.receiver as unknown as WithEncodedStreams).createEncodedStreams();
      void rs.readable.pipeTo(rs.writable).catch(() => {});
      if (o.targetMs !== undefined) ev.receiver.jitterBufferTarget = o.targetMs;
      // Opened is not playing: without a candidate pair (no local address) nothing ever arrives,
      // and the caller must fall back to the worklet rather than play silence.
      await connected(recv, o.timeoutMs ?? 5000);
      p.stream = ev.streams[0] ?? new MediaStream([ev.track]);
      p.audio.srcObject = p.stream;
      await p.audio.play();
      p.poll = setInterval(() => void p.refresh(), POLL_MS);
      return p;
    } catch (e) {
      p.close();
      throw e;
    }
  }

  /** A frame from the tunnel (the media payload's seq and Opus bytes). */
  push(seq: number, opus: Uint8Array): void {
    this.feed.push(seq, opus);
  }

  private async refresh(): Promise<void> {
    try {
      const before = this.latest?.concealedSamples ?? 0;
      const s = await this.stats();
      this.worstConcealedMs = Math.max(this.worstConcealedMs, (s.concealedSamples - before) / 48);
      this.latest = { ...s, worstConcealedMs: this.worstConcealedMs };
    } catch {
      // closed meanwhile
    }
  }

  async stats(): Promise<NetEqStats> {
    const s: NetEqStats = {
      ...this.feed.stats,
      jitterMs: 0,
      targetMs: 0,
      concealedSamples: 0,
      totalSamples: 0,
      fecPackets: 0,
      worstConcealedMs: this.worstConcealedMs,
    };
    (await this.recv.getStats()).forEach((r) => {
      if (r.type !== 'inbound-rtp') return;
      const delay = (r.jitterBufferDelay as number) ?? 0;
      const emitted = (r.jitterBufferEmittedCount as number) ?? 0;
      const dE = emitted - this.last.emitted;
      if (dE > 0) s.jitterMs = (1000 * (delay - this.last.delay)) / dE;
      this.last = { at: performance.now(), delay, emitted };
      s.targetMs = emitted > 0 ? (1000 * ((r.jitterBufferTargetDelay as number) ?? 0)) / emitted : 0;
      s.concealedSamples = (r.concealedSamples as number) ?? 0;
      s.totalSamples = (r.totalSamplesReceived as number) ?? 0;
      s.fecPackets = (r.fecPacketsReceived as number) ?? 0;
    });
    return s;
  }

  close(): void {
    clearInterval(this.poll);
    this.audio.srcObject = null;
    this.send.close();
    this.recv.close();
    void this.source.close();
  }

  private swapFrames(s: EncodedStreams): void {
    const feed = this.feed;
    void s.readable
      .pipeThrough(
        new TransformStream<EncodedFrame, EncodedFrame>({
          start: (c) => {
            this.controller = c;
          },
          transform: (f) => feed.slot(f),
        }),
      )
      .pipeTo(s.writable)
      .catch(() => {});
  }

  private async connect(timeoutMs: number): Promise<void> {
    const { send, recv } = this;
    await send.setLocalDescription(await send.createOffer());
    await gathered(send, timeoutMs);
    await recv.setRemoteDescription({ type: 'offer', sdp: localCandidatesOnly(send.localDescription!.sdp) });
    await recv.setLocalDescription(await recv.createAnswer());
    await gathered(recv, timeoutMs);
    await send.setRemoteDescription({ type: 'answer', sdp: localCandidatesOnly(recv.localDescription!.sdp) });
  }
}
