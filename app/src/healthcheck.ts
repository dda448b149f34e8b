/** Container health check: exits 0 when GET /health answers 200 within two seconds. */
const port = process.env.PORT ?? "8080";

fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) }).then(
  (response) => process.exit(response.status === 200 ? 0 : 1),
  () => process.exit(1),
);
