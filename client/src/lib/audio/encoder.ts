// Send side: 20 ms microphone frames -> WebCodecs Opus (48 kHz mono, 24 kb/s CBR, in-band FEC) ->
// fixed-size media payloads. CBR keeps every frame at 60 bytes, so nothing about the speech leaks
// through sizes even before the onion pads it into a cell.
import { encodePayload, Flag, MAX_OPUS_BYTES } from './payload.ts';
import type { RttMeter } from './rtt.ts';

export const OPUS_CONFIG: AudioEncoderConfig = {
  codec: 'opus',
  sampleRate: 48000,
  numberOfChannels: 1,
  bitrate: 24_000,
  bitrateMode: 'constant',
  // packetlossperc makes libopus actually spend bits on the FEC copy of the previous frame.
  opus: { frameDuration: 20_000, useinbandfec: true, packetlossperc: 10, complexity: 5, usedtx: false },
} as AudioEncoderConfig;

export class FrameEncoder {
  private readonly enc: AudioEncoder;
  private seq = 0;
  private ts = 0;
  private pendingMuted: boolean[] = [];
  sent = 0;
  oversize = 0;
  errors = 0;

  constructor(
    private readonly send: (payload: Uint8Array) => void,
    private readonly rtt: RttMeter,
    bitrate = 24_000,
  ) {
    this.enc = new AudioEncoder({
      output: (chunk) => this.output(chunk),
      error: () => {
        this.errors++;
      },
    });
    this.enc.configure({ ...OPUS_CONFIG, bitrate });
  }

  /** Encodes one 960-sample frame; muted frames are encoded silence, so the stream never stops. */
  encode(pcm: Float32Array, muted: boolean): void {
    if (this.enc.state !== 'configured') return;
    if (this.enc.encodeQueueSize > 4) return; // encoder behind: skip, the receiver conceals
    if (muted) pcm.fill(0);
    const data = new AudioData({
      format: 'f32',
      sampleRate: 48000,
      numberOfFrames: pcm.length,
      numberOfChannels: 1,
      timestamp: this.ts,
      data: pcm as Float32Array<ArrayBuffer>,
    });
    this.ts += 20_000;
    this.pendingMuted.push(muted);
    this.enc.encode(data);
    data.close();
  }

  close(): void {
    if (this.enc.state !== 'closed') this.enc.close();
  }

  private output(chunk: EncodedAudioChunk): void {
    const muted = this.pendingMuted.shift() ?? false;
    let opus = new Uint8Array(chunk.byteLength);
    chunk.copyTo(opus);
    let flags = Flag.VOICE | (muted ? Flag.MUTED : 0);
    if (opus.length > MAX_OPUS_BYTES) {
      // Cannot happen at 24 kb/s CBR (60 bytes); if it does, send an empty frame of the same size.
      this.oversize++;
      opus = new Uint8Array(0);
      flags &= ~Flag.VOICE;
    }
    const payload = encodePayload({ seq: this.seq & 0xffff, flags, ...this.rtt.outgoing(), opus });
    this.seq++;
    this.sent++;
    this.send(payload);
  }
}
