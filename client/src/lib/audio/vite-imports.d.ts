// Vite's `?worker&url` import: the URL of a bundled, same-origin worker/worklet file.
declare module '*?worker&url' {
  const url: string;
  export default url;
}
