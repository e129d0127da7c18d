// The dashboard's build: plain ES modules in, hashed assets out into the api function's code, where
// `sam build` and the local stack both find them (see docs/architecture.md, "The dashboard").
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: process.env.WEB_OUT_DIR || "../functions/api/static",
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
