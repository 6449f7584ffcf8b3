// esbuild bundles the stylesheet a module imports into the page's CSS file.
declare module '*.css';
