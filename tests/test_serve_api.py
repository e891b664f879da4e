"""The HTTP API over a real uvicorn on 127.0.0.1: generation, the catalog, limits and rejections."""

from __future__ import annotations

import json
import logging
import time

import httpx
import numpy as np
import pytest

from serve_fixtures import decode_png, load_builtin_model, serving  # noqa: I001  (skips this module without the serve extra)
from designgan.pipeline import MAX_SEED
from designgan.recipes import RECIPE_TEXT_KEY
from designgan.serve import ServeConfig, create_app


@pytest.fixture(scope="module")
def model():
    return load_builtin_model()


@pytest.fixture(scope="module")
def base_url(model):
    with serving(create_app(model, ServeConfig(max_body_bytes=4096))) as url:
        yield url


@pytest.fixture
def client(base_url):
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


def assert_healthy(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    assert client.post("/v1/generate", json={"keywords": ["cat"], "n": 1, "seed": 0}).status_code == 200


# ---- happy paths ---------------------------------------------------------------

def test_generate_returns_n_pngs(client):
    response = client.post("/v1/generate", json={"keywords": ["cat heart"], "n": 3, "seed": 5})
    assert response.status_code == 200
    ideas = response.json()["ideas"]
    assert len(ideas) == 3
    for idea in ideas:
        image = decode_png(idea["image_png_base64"])
        assert image.format == "PNG"
        assert image.size == (64, 64)


def test_generate_matches_library_pixels(client, model):
    response = client.post("/v1/generate", json={"keywords": ["cat", "heart"], "n": 2, "seed": 11, "truncation": 0.7})
    served = [np.asarray(decode_png(idea["image_png_base64"]).convert("RGB")) for idea in response.json()["ideas"]]
    expected = [np.asarray(image) for image in model.generate(["cat", "heart"], n=2, seed=11, truncation=0.7)]
    assert np.array_equal(np.stack(served), np.stack(expected))


def test_generate_recipe_in_png_and_json(client, model):
    idea = client.post("/v1/generate", json={"keywords": ["red"], "n": 1, "seed": 3}).json()["ideas"][0]
    recipe = idea["recipe"]
    assert recipe["seed"] == 3
    assert recipe["keywords"][0] == "red"  # then the keyword context of a real design
    assert recipe["model_sha256"] == model.files.sha256
    assert recipe["model"] == "builtin"  # a name, not the server's path
    assert json.loads(decode_png(idea["image_png_base64"]).text[RECIPE_TEXT_KEY]) == recipe


def test_generate_without_context_uses_keywords_alone(client, model):
    body = client.post("/v1/generate", json={"keywords": ["cat"], "n": 2, "seed": 5, "context": False}).json()
    assert [idea["recipe"]["keywords"] for idea in body["ideas"]] == [["cat"], ["cat"]]
    served = [np.asarray(decode_png(idea["image_png_base64"]).convert("RGB")) for idea in body["ideas"]]
    expected = [np.asarray(image) for image in model.generate("cat", n=2, seed=5, context=False)]
    assert np.array_equal(np.stack(served), np.stack(expected))


def test_generate_random_seed_returned(client):
    body = client.post("/v1/generate", json={"keywords": ["cat"], "n": 2}).json()
    assert 0 <= body["seed"] <= MAX_SEED - 1
    assert [idea["recipe"]["seed"] for idea in body["ideas"]] == [body["seed"], body["seed"] + 1]


def test_generate_reports_mapped_and_unknown(client):
    body = client.post("/v1/generate", json={"keywords": ["cats", "../x", "🐱"], "n": 1, "seed": 0}).json()
    keywords = body["keywords"]
    assert keywords["known"] == ["cat"]
    assert keywords["mappings"] == [{"word": "cats", "keyword": "cat", "method": "plural", "score": None}]
    assert "x" in keywords["unknown"]
    assert keywords["dropped"] == ["🐱"]
    assert keywords["notes"][0] == "cats → cat (plural)"


def test_generate_nfc_before_length_check(client):
    # 40 "é" typed as e + combining accent: 80 code points, 40 after NFC.
    decomposed = "e\u0301" * 40
    response = client.post("/v1/generate", json={"keywords": ["cat", decomposed], "n": 1, "seed": 0})
    assert response.status_code == 200
    assert "e" * 40 in response.json()["keywords"]["unknown"]


def test_keywords_lists_counts(client, model):
    body = client.get("/v1/keywords").json()
    assert body["total"] == len(model.vocabulary)
    assert {entry["keyword"] for entry in body["keywords"]} == set(model.vocabulary.keywords)
    assert all(entry["count"] > 0 for entry in body["keywords"])


def test_keywords_prefix_matches_inner_word(client):
    keywords = [entry["keyword"] for entry in client.get("/v1/keywords", params={"prefix": "Sk"}).json()["keywords"]]
    assert "dark skin tone" in keywords
    assert all(any(word.startswith("sk") for word in keyword.split()) for keyword in keywords)


def test_keywords_prefix_starts_first(client):
    keywords = [entry["keyword"] for entry in client.get("/v1/keywords", params={"prefix": "sk"}).json()["keywords"]]
    starts = [keyword.startswith("sk") for keyword in keywords]
    assert starts == sorted(starts, reverse=True)


def test_keywords_limit(client, model):
    body = client.get("/v1/keywords", params={"limit": 1}).json()
    assert body["total"] == len(model.vocabulary)
    assert len(body["keywords"]) == 1


def test_model_describes_weights(client, model):
    body = client.get("/v1/model").json()
    assert body["sha256"] == model.files.sha256
    assert body["name"] == "builtin"
    assert body["resolution_px"] == model.resolution_px
    assert body["num_keywords"] == len(model.vocabulary)
    assert body["conditional"] is True
    assert body["card_markdown"].startswith("# designgan built-in model")
    assert str(model.path) not in json.dumps(body)


def test_readyz_reports_queue(client):
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    assert body["queue"] == {"running": 0, "waiting": 0, "max_waiting": 32}


def test_request_id_header_unique(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert len(first) == 16
    assert first != second


def request_log_lines(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "designgan.serve.requests"]


def test_request_log_has_id_not_body(client, caplog):
    with caplog.at_level(logging.INFO, logger="designgan.serve.requests"):
        response = client.post("/v1/generate", json={"keywords": ["cat", "secretword"], "n": 1, "seed": 0})
        # The server logs a request after sending its response, so the line may come a moment later.
        request_id = response.headers["X-Request-ID"]
        deadline = time.monotonic() + 5
        while not any(request_id in line for line in request_log_lines(caplog)) and time.monotonic() < deadline:
            time.sleep(0.01)
    lines = request_log_lines(caplog)
    line = next(line for line in lines if request_id in line)
    assert "status=200" in line
    assert "latency_ms=" in line
    assert "secretword" not in "\n".join(lines)


def test_studio_page_and_files(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert client.get("/static/studio.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/static/studio.css").status_code == 200


def test_docs_served_offline(client):
    assert client.get("/docs").status_code == 200
    assert client.get("/docs/swagger-ui-bundle.js").status_code == 200
    assert "/v1/generate" in client.get("/openapi.json").json()["paths"]


def test_cors_off_by_default(client):
    preflight = client.options("/v1/generate", headers={"Origin": "http://example.test",
                                                        "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    response = client.get("/healthz", headers={"Origin": "http://example.test"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_origin_allowed_when_configured(model):
    config = ServeConfig(cors_origins=("http://localhost:3000",), warm_up=False)
    with serving(create_app(model, config)) as url:
        response = httpx.get(f"{url}/healthz", headers={"Origin": "http://localhost:3000"})
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"


# ---- limits: each rejection names the field, and the server stays healthy ----------------

INVALID_GENERATE = [
    ("n", {"n": 100000}),
    ("n", {"n": 0}),
    ("n", {"n": -5}),
    ("n", {"n": "5"}),
    ("n", {"n": True}),
    ("seed", {"seed": 2**64}),
    ("seed", {"seed": "abc"}),
    ("seed", {"seed": -2}),
    ("seed", {"seed": MAX_SEED, "n": 2}),
    ("truncation", {"truncation": 1.5}),
    ("truncation", {"truncation": -0.1}),
    ("keywords", {"keywords": ["a" * 300]}),
    ("keywords", {"keywords": ["cat"] * 17}),
    ("keywords", {"keywords": "cat"}),
    ("keywords", {"keywords": ["cat\nINFO forged log line"]}),
    ("seeds", {"seeds": 3}),
]


@pytest.mark.parametrize("field, body", INVALID_GENERATE, ids=[f"{f}={json.dumps(b)[:40]}" for f, b in INVALID_GENERATE])
def test_generate_invalid_field_422(client, field, body):
    response = client.post("/v1/generate", json={"keywords": ["cat"], **body})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert field in detail[0]["loc"]
    if field in ("n", "seed", "truncation", "keywords"):
        assert detail[0]["allowed"]
    assert_healthy(client)


def test_generate_out_of_range_names_range(client):
    detail = client.post("/v1/generate", json={"n": 100000}).json()["detail"][0]
    assert detail["loc"] == ["body", "n"]
    assert detail["allowed"] == "an integer in 1..64"


def test_generate_path_like_keyword_422(client):
    response = client.post("/v1/generate", json={"keywords": ["../x"], "n": 1})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["type"] == "keyword_error"
    assert "'x'" in detail["msg"]
    assert_healthy(client)


def test_generate_malformed_json_422(client):
    response = client.post("/v1/generate", content=b'{"n": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert_healthy(client)


def test_body_over_limit_413(client):
    response = client.post("/v1/generate", json={"keywords": ["cat"], "padding": "x" * 5000})
    assert response.status_code == 413
    assert "4096" in response.json()["detail"]
    assert_healthy(client)


def test_chunked_body_over_limit_413(client):
    def chunks():
        yield b'{"keywords": ["cat"], "padding": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    response = client.post("/v1/generate", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert_healthy(client)


@pytest.mark.parametrize("path", ["/static/..%2f..%2fpipeline.py", "/static/%2e%2e%2fapp.py", "/static/index.htm",
                                  "/docs/..%2f..%2fapp.py", "/static/"])
def test_static_outside_table_404(client, path):
    assert client.get(path).status_code == 404
    assert_healthy(client)


def test_keywords_invalid_query_422(client):
    assert client.get("/v1/keywords", params={"limit": 0}).status_code == 422
    assert client.get("/v1/keywords", params={"prefix": "a" * 65}).status_code == 422
    assert_healthy(client)
