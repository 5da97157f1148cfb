// The RPS module's status line (see relay/status.ts).

export interface RpsGauges {
  view: number;
  viewSize: number;
  samplers: number;
  peers: number;
  networkSize: number;
  nse: boolean;
}

export function rpsStatusLine(g: RpsGauges): string {
  return (
    `view ${g.view} of ${g.viewSize}, ${g.samplers} samplers; ${g.peers} peers known; ` +
    `network size ${g.networkSize} (${g.nse ? 'from NSE' : 'default_size'})`
  );
}
