// Loading, error and empty states.
import type { ComponentChildren } from 'preact';
import { useDelayed } from '../hooks';
import { ApiError } from '../lib/api';
import { TimeRangeError } from '../lib/time';

export function Spinner({ label }: { label?: string }) {
  return (
    <span class="spinner" role="status">
      <span class="spinner-dot" />
      {label && <span class="muted">{label}</span>}
    </span>
  );
}

/** Shows a spinner only if `loading` lasts more than 200 ms. */
export function Loading({ loading, label = 'Loading…' }: { loading: boolean; label?: string }) {
  const shown = useDelayed(loading);
  return shown ? <Spinner label={label} /> : null;
}

export function ErrorBox({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  const e = error as Error;
  const api = e instanceof ApiError ? e : null;
  const title = api
    ? api.status === 0 ? 'Cannot reach Strata' : `The server answered ${api.status}`
    : e instanceof TimeRangeError ? 'Invalid time range' : 'Something went wrong';
  return (
    <div class="error-box" role="alert" data-testid="error">
      <div class="error-title">{title}</div>
      <pre class="error-msg">{e.message || String(error)}</pre>
      {api?.hint && <div class="error-hint">{api.hint}</div>}
      <div class="error-actions">
        {api?.url && <code class="muted small">{decodeURIComponent(api.url).slice(0, 300)}</code>}
        {onRetry && <button class="btn small" onClick={onRetry}>Retry</button>}
      </div>
    </div>
  );
}

export const OTLP_SNIPPET = `# Send test data with telemetrygen (OTLP gRPC on 4317):
telemetrygen traces --otlp-insecure --otlp-endpoint localhost:4317 --service checkout --traces 20
telemetrygen logs   --otlp-insecure --otlp-endpoint localhost:4317 --service checkout --logs 100

# Or point an OpenTelemetry Collector at Strata:
exporters:
  otlp:                       # gRPC
    endpoint: localhost:4317
    tls: { insecure: true }
  otlphttp:                   # HTTP/protobuf
    endpoint: http://localhost:4318
service:
  pipelines:
    traces: { receivers: [otlp], exporters: [otlp] }
    logs:   { receivers: [otlp], exporters: [otlp] }

# Or push one log line with curl (Loki push API):
curl -X POST -H 'Content-Type: application/json' http://localhost:3100/loki/api/v1/push \\
  -d '{"streams":[{"stream":{"service_name":"demo"},"values":[["'$(date +%s%N)'","hello strata"]]}]}'`;

export function EmptyState({ title, children, snippet }: { title: string; children?: ComponentChildren; snippet?: boolean }) {
  return (
    <div class="empty" data-testid="empty">
      <div class="empty-title">{title}</div>
      {children && <div class="empty-body">{children}</div>}
      {snippet && <pre class="snippet">{OTLP_SNIPPET}</pre>}
    </div>
  );
}
