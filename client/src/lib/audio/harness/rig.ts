// The reference the call benchmark measures VoidPhone against: two pages talking through the
// browser's own WebRTC audio (Opus, NetEq, the same microphone processing as a VoidPhone call), on
// the same virtual devices, with nothing of ours in the path. The benchmark carries the SDP between
// the two browsers (test/bench/_device-voice.ts).
import { MIC_CONSTRAINTS } from '../voice-session.ts';

let pc: RTCPeerConnection | undefined;
const audio = new Audio();

async function gathered(p: RTCPeerConnection): Promise<string> {
  if (p.iceGatheringState !== 'complete') {
    await new Promise<void>((resolve) => {
      p.addEventListener('icegatheringstatechange', () => {
        if (p.iceGatheringState === 'complete') resolve();
      });
    });
  }
  return p.localDescription!.sdp;
}

const rig = {
  async open(): Promise<void> {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: MIC_CONSTRAINTS });
    pc = new RTCPeerConnection();
    for (const t of stream.getAudioTracks()) pc.addTrack(t, stream);
    pc.ontrack = (e) => {
      audio.srcObject = e.streams[0] ?? new MediaStream([e.track]);
      void audio.play();
    };
  },
  async offer(): Promise<string> {
    await pc!.setLocalDescription(await pc!.createOffer());
    return gathered(pc!);
  },
  async answer(sdp: string): Promise<string> {
    await pc!.setRemoteDescription({ type: 'offer', sdp });
    await pc!.setLocalDescription(await pc!.createAnswer());
    return gathered(pc!);
  },
  accept: (sdp: string) => pc!.setRemoteDescription({ type: 'answer', sdp }),
  connected: () => pc?.connectionState === 'connected',
  /** NetEq's own view: mean jitter-buffer delay (ms) of what it played. */
  async jitterMs(): Promise<number> {
    let ms = 0;
    for (const s of (await pc!.getStats()).values()) {
      if (s.type === 'inbound-rtp' && s.kind === 'audio' && s.jitterBufferEmittedCount > 0)
        ms = (1000 * s.jitterBufferDelay) / s.jitterBufferEmittedCount;
    }
    return ms;
  },
  close: () => pc?.close(),
};

(window as unknown as { voiceRig: typeof rig }).voiceRig = rig;
