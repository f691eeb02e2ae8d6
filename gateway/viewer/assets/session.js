/**
 * The viewer's login: its tokens, and the API requests that carry them.
 *
 * The pair from POST /api/v1/auth/login is kept in sessionStorage, not in memory only:
 * the page is one address per ECG, so memory alone would ask for the password at every
 * reload and every other ECG; sessionStorage lives as long as the tab and is seen by
 * no other tab and no other origin, and the page's Content-Security-Policy runs no
 * script but the gateway's own (a script injected into the page could use tokens held
 * in memory just as well). Log out ends the session on the server too.
 *
 * An answer 401 is retried once after GET /api/v1/auth/refresh. A refresh token is
 * spent on use and presenting it twice ends the whole session, so the requests that
 * fail together share one refresh, and a request whose token was already replaced
 * meanwhile is simply sent again with the new one.
 */

const STORAGE_KEY = "ecg-pipeline.viewer.tokens";

/** No tokens, or the session behind them has ended: log in again. */
export class SignedOut extends Error {}

/** An answer other than 2xx (and other than a 401 that a refresh cures). */
export class ApiError extends Error {
  constructor(status, problem, retryAfter) {
    super(problem?.detail || problem?.title || `the gateway answered ${status}`);
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

async function apiError(response) {
  let problem = null;
  try {
    problem = await response.json();
  } catch {
    // not JSON: the status says it
  }
  const retryAfter = Number(response.headers.get("Retry-After")) || null;
  return new ApiError(response.status, problem, retryAfter);
}

function bearer(token) {
  return { Authorization: `Bearer ${token}` };
}

export class Session {
  #storage;
  #refreshing = null;

  constructor(storage) {
    this.#storage = storage;
  }

  get signedIn() {
    return this.#tokens() !== null;
  }

  async logIn(email, password) {
    const response = await fetch("/api/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password }),
      cache: "no-store",
    });
    if (!response.ok) {
      throw await apiError(response);
    }
    this.#keep(await response.json());
  }

  async logOut() {
    const tokens = this.#tokens();
    this.forget();
    if (tokens !== null) {
      // The refresh token ends its whole session; a failure leaves nothing to do here.
      await fetch("/api/v1/auth/logout", { method: "POST", headers: bearer(tokens.refresh) })
        .catch(() => undefined);
    }
  }

  forget() {
    this.#storage.removeItem(STORAGE_KEY);
  }

  /** GET ``path`` with the access token; the answer's JSON. */
  async json(path) {
    for (let attempt = 0; ; attempt += 1) {
      const tokens = this.#tokens();
      if (tokens === null) {
        throw new SignedOut();
      }
      const response = await fetch(path, {
        headers: { ...bearer(tokens.access), Accept: "application/json" },
        cache: "no-store",
      });
      if (response.ok) {
        return response.json();
      }
      if (response.status !== 401) {
        throw await apiError(response);
      }
      if (attempt > 0) {
        this.forget();
        throw new SignedOut();
      }
      await this.#refresh(tokens.access);
    }
  }

  async #refresh(refused) {
    if (this.#tokens()?.access !== refused) {
      return; // another request has refreshed since this one was sent
    }
    this.#refreshing ??= this.#exchange().finally(() => {
      this.#refreshing = null;
    });
    await this.#refreshing;
  }

  async #exchange() {
    const tokens = this.#tokens();
    if (tokens === null) {
      throw new SignedOut(); // logged out meanwhile
    }
    const response = await fetch("/api/v1/auth/refresh", {
      headers: bearer(tokens.refresh),
      cache: "no-store",
    });
    if (response.status === 401) {
      this.forget();
      throw new SignedOut();
    }
    if (!response.ok) {
      throw await apiError(response);
    }
    this.#keep(await response.json());
  }

  #tokens() {
    try {
      const tokens = JSON.parse(this.#storage.getItem(STORAGE_KEY));
      return tokens?.access && tokens?.refresh ? tokens : null;
    } catch {
      return null;
    }
  }

  #keep(pair) {
    const tokens = { access: pair.access_token, refresh: pair.refresh_token };
    this.#storage.setItem(STORAGE_KEY, JSON.stringify(tokens));
  }
}
