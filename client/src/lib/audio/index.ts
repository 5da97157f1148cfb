// Public surface of the audio code (issue 8). See docs/audio.md for the seam with calls (issue 7).
export { CallAudio, type CallAudioOptions, type MediaCall } from './call-audio.ts';
export {
  CALL_DATA_SIZE,
  CoverSender,
  type CoverSenderOptions,
  timerTicker,
  workerTicker,
} from '../pacing/pacer.ts';
export { JitterBuffer, type JitterBufferOptions, type JitterStats } from './jitter-buffer.ts';
export { decodePayload, encodePayload, type MediaFrame, PAYLOAD_SIZE } from './payload.ts';
export { type CallStats, formatDuration } from './stats.ts';
export { MIC_CONSTRAINTS, VoiceSession, type VoiceSessionOptions } from './voice-session.ts';
