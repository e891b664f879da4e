// Calls to the designgan HTTP API, with error messages a designer can act on.

// The API's limits, checked here too so that the message comes before the request.
export const MAX_KEYWORDS = 16;
export const MAX_KEYWORD_CHARS = 64;

export class ApiError extends Error {}

/** Send a GET (no body) or a JSON POST and return the parsed response; throw ApiError on an error status. */
export async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  let payload = null;
  try {
    payload = await response.json();
  } catch (error) {
    payload = null; // an error page that is not JSON
  }
  if (!response.ok) {
    throw new ApiError(errorMessage(response, payload));
  }
  return payload;
}

function errorMessage(response, payload) {
  const detail = payload && payload.detail;
  if (response.status === 503) {
    const seconds = response.headers.get("Retry-After") || "a few";
    return `The server is busy; try again in ${seconds} s.`;
  }
  if (Array.isArray(detail)) {
    return detail.map((item) => {
      const field = item.loc.filter((part) => part !== "body" && part !== "query").join(".");
      const allowed = item.allowed ? ` Allowed: ${item.allowed}.` : "";
      return `${field || "request"}: ${item.msg}.${allowed}`;
    }).join(" ");
  }
  return typeof detail === "string" ? detail : `Request failed with HTTP ${response.status}.`;
}
