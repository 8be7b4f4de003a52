// The service's API as the pages call it: same origin (the pages'
// Content-Security-Policy allows no other), the page's credential as
// `Authorization: Bearer`, and errors in either of the service's two shapes
// (v1 `{"error":{…}}`, RFC 7807 under /api/v1) turned into one ApiError.

/** A refused or failed request: its status, the service's message and trace id. */
export class ApiError extends Error {
  constructor(status, message, traceId = '') {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.traceId = traceId;
  }
}

/** The message of an error body of either shape, or a generic one. */
export function errorMessage(status, body) {
  const message = body?.error?.message ?? body?.detail ?? body?.title;
  if (typeof message === 'string' && message) return message;
  if (status === 401) return 'The API key was refused';
  return `The service answered ${status}`;
}

/** `path` with the query-string `pairs` ([name, value] each; names may repeat). */
export function withQuery(path, pairs = []) {
  const query = new URLSearchParams(pairs).toString();
  return query ? `${path}?${query}` : path;
}

/**
 * A client whose requests carry `credential()` (a key or token; no header
 * when it is empty) and call `onUnauthorized()` on a 401 before throwing.
 */
export function createClient({ credential, onUnauthorized = () => {} }) {
  async function request(path, accept) {
    const headers = { Accept: accept };
    const secret = credential();
    if (secret) headers.Authorization = `Bearer ${secret}`;
    let response;
    try {
      response = await fetch(path, { headers, cache: 'no-store', credentials: 'omit' });
    } catch (err) {
      throw new ApiError(0, `The service could not be reached (${err.message})`);
    }
    if (!response.ok) {
      let body = null;
      try {
        body = await response.json();
      } catch {
        // Not JSON: the status says enough.
      }
      if (response.status === 401) onUnauthorized();
      throw new ApiError(response.status, errorMessage(response.status, body),
        response.headers.get('x-trace-id') ?? '');
    }
    return response;
  }
  return {
    /** GET `path` with `pairs` as JSON. */
    async json(path, pairs) {
      return (await request(withQuery(path, pairs), 'application/json')).json();
    },
    /** GET `path` with `pairs` as CSV text (the meter query answers CSV when asked). */
    async csv(path, pairs) {
      return (await request(withQuery(path, pairs), 'text/csv')).text();
    },
  };
}
