package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, path string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func assetName(t *testing.T, ext string) string {
	t.Helper()
	entries, err := fs.ReadDir(dist, "dist/assets")
	if err != nil {
		t.Fatalf("dist/assets: %v (run npm run build)", err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ext) {
			return e.Name()
		}
	}
	t.Fatalf("no %s asset in dist/assets", ext)
	return ""
}

func TestIndexAndClientRoutes(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/", "/logs", "/traces?trace=abc", "/services", "/cluster", "/index.html", "/some/deep/route"} {
		rec := get(t, h, p, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", p, rec.Code)
		}
		if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("%s: Cache-Control %q, want no-cache", p, got)
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("%s: Content-Type %q", p, ct)
		}
		body := rec.Body.String()
		if !strings.Contains(body, `<div id="app">`) || !strings.Contains(body, `<base href="/" />`) {
			t.Errorf("%s: not the SPA index: %.200s", p, body)
		}
	}
}

func TestHashedAssetsAreImmutable(t *testing.T) {
	h := Handler()
	js := assetName(t, ".js")
	rec := get(t, h, "/assets/"+js, nil)
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("Cache-Control %q", got)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("Content-Type %q", ct)
	}
	if rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip sent without Accept-Encoding")
	}
	tag := rec.Header().Get("ETag")
	if tag == "" {
		t.Fatal("no ETag")
	}
	rec2 := get(t, h, "/assets/"+js, map[string]string{"If-None-Match": tag})
	if rec2.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", rec2.Code)
	}
}

func TestGzip(t *testing.T) {
	h := Handler()
	js := assetName(t, ".js")
	plain := get(t, h, "/assets/"+js, nil).Body.Bytes()
	rec := get(t, h, "/assets/"+js, map[string]string{"Accept-Encoding": "br, gzip"})
	if rec.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", rec.Header().Get("Content-Encoding"))
	}
	if !strings.Contains(rec.Header().Get("Vary"), "Accept-Encoding") {
		t.Errorf("Vary %q", rec.Header().Get("Vary"))
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(zr)
	if !bytes.Equal(got, plain) {
		t.Errorf("gzip body differs from the plain one")
	}
	if get(t, h, "/assets/"+js, map[string]string{"Accept-Encoding": "gzip;q=0"}).Header().Get("Content-Encoding") != "" {
		t.Errorf("gzip;q=0 must not get gzip")
	}
}

func TestMissingFilesAre404(t *testing.T) {
	h := Handler()
	for _, p := range []string{"/assets/nope.js", "/favicon.ico", "/robots.txt", "/x/y.png"} {
		if rec := get(t, h, p, nil); rec.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, rec.Code)
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d", rec.Code)
	}
}

func TestPrefix(t *testing.T) {
	h := HandlerAt("/ui")
	rec := get(t, h, "/ui/traces", map[string]string{"Accept-Encoding": "gzip"})
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	if !strings.Contains(string(body), `<base href="/ui/" />`) {
		t.Errorf("base href not rewritten: %.300s", body)
	}
	if rec := get(t, h, "/ui", nil); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "/ui/" {
		t.Errorf("/ui: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if rec := get(t, h, "/ui/assets/"+assetName(t, ".css"), nil); rec.Code != http.StatusOK {
		t.Errorf("asset under prefix: %d", rec.Code)
	}
	if rec := get(t, h, "/other", nil); rec.Code != http.StatusNotFound {
		t.Errorf("outside prefix: %d", rec.Code)
	}
}
