// Package web embeds the built UI (web/dist, produced by `npm run build`) and serves it as a
// single-page app. The bundle is committed, so `go build` works without Node.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

const (
	cacheImmutable = "public, max-age=31536000, immutable"
	cacheNone      = "no-cache"
)

type file struct {
	body   []byte
	gz     []byte // pre-compressed body, if smaller
	ctype  string
	etag   string
	cache  string
	gzEtag string
}

type handler struct {
	prefix string
	files  map[string]*file // by path relative to dist, e.g. "assets/index-abc.js"
	index  *file
}

// Handler serves the UI from the root path: "/" and every path that is not an asset return
// index.html (the app routes on the client); hashed assets under /assets/ are cached for a year.
func Handler() http.Handler { return HandlerAt("/") }

// HandlerAt serves the UI under a path prefix such as "/ui/". Requests must keep the prefix
// (do not wrap in http.StripPrefix); index.html's <base href> is rewritten to it so the app's
// relative asset URLs and client-side routes resolve under the prefix.
func HandlerAt(prefix string) http.Handler {
	if !strings.HasPrefix(prefix, "/") {
		prefix = "/" + prefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	h := &handler{prefix: prefix, files: map[string]*file{}}
	root, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // cannot happen: dist is embedded
	}
	_ = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".gz") {
			return err
		}
		body, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		var gz []byte
		if pre, err := fs.ReadFile(root, p+".gz"); err == nil {
			gz = pre
		}
		cache := cacheNone
		if strings.HasPrefix(p, "assets/") {
			cache = cacheImmutable
		}
		if p == "index.html" {
			body = bytes.Replace(body, []byte(`<base href="/" />`), []byte(`<base href="`+prefix+`" />`), 1)
			gz = gzipBytes(body)
		}
		h.files[p] = newFile(p, body, gz, cache)
		return nil
	})
	h.index = h.files["index.html"]
	if h.index == nil {
		// A checkout without a build: say how to make one instead of a blank page.
		h.index = newFile("index.html", []byte(missingBuild), nil, cacheNone)
	}
	return h
}

const missingBuild = `<!doctype html><meta charset="utf-8"><title>Strata</title>
<p>The web UI has not been built. Run <code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code>, then rebuild the binary.</p>`

func newFile(p string, body, gz []byte, cache string) *file {
	ctype := mime.TypeByExtension(path.Ext(p))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	if len(gz) >= len(body) {
		gz = nil
	}
	f := &file{body: body, gz: gz, ctype: ctype, cache: cache, etag: etag(body)}
	if gz != nil {
		f.gzEtag = etag(gz)
	}
	return f
}

func etag(b []byte) string {
	s := sha256.Sum256(b)
	return `"` + hex.EncodeToString(s[:8]) + `"`
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p+"/" == h.prefix {
		http.Redirect(w, r, h.prefix, http.StatusMovedPermanently)
		return
	}
	if !strings.HasPrefix(p, h.prefix) {
		http.NotFound(w, r)
		return
	}
	rel := strings.TrimPrefix(path.Clean("/"+strings.TrimPrefix(p, h.prefix)), "/")
	if f := h.files[rel]; f != nil && rel != "index.html" {
		h.serve(w, r, f)
		return
	}
	// Anything else is a client-side route (/logs, /traces, ...), unless it looks like a file.
	if strings.HasPrefix(rel, "assets/") || (path.Ext(rel) != "" && rel != "index.html") {
		http.NotFound(w, r)
		return
	}
	h.serve(w, r, h.index)
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, f *file) {
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("Cache-Control", f.cache)
	hd.Set("X-Content-Type-Options", "nosniff")
	body, tag := f.body, f.etag
	if f.gz != nil {
		hd.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			hd.Set("Content-Encoding", "gzip")
			body, tag = f.gz, f.gzEtag
		}
	}
	hd.Set("ETag", tag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether Accept-Encoding allows gzip (present and not "q=0").
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		for _, prm := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(prm), "=")
			if strings.EqualFold(k, "q") {
				q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				return err == nil && q > 0
			}
		}
		return true
	}
	return false
}
