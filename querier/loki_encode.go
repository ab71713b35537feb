package querier

import (
	"strconv"
	"time"

	"github.com/strataobs/strata/logql"
)

// execStats are the numbers behind a response's "stats" object.
type execStats struct {
	lines, bytes int64
	took         time.Duration
	returned     int64 // log lines in the answer (Loki's totalEntriesReturned)
}

// encodeQueryResult writes Loki's query envelope. With categorize, encodingFlags comes
// before result (Grafana reads the flag only there) and every stream entry carries a
// third element, an object; without it entries are exactly [ts, line].
func encodeQueryResult(v logql.Value, st execStats, categorize bool) []byte {
	w := &jsonw{b: make([]byte, 0, 4096)}
	w.raw(`{"status":"success","data":{"resultType":`)
	w.str(string(v.Type()))
	if categorize && v.Type() == logql.ValueTypeStreams {
		w.raw(`,"encodingFlags":["categorize-labels"]`)
	}
	w.raw(`,"result":`)
	switch r := v.(type) {
	case logql.Streams:
		for _, s := range r {
			st.returned += int64(len(s.Entries))
		}
		encodeStreams(w, r, categorize)
	case logql.Matrix:
		encodeMatrix(w, r)
	case logql.Vector:
		encodeVector(w, r)
	case logql.Scalar:
		w.byte('[')
		w.promTime(r.T)
		w.byte(',')
		w.promValue(r.V)
		w.byte(']')
	}
	w.raw(`,"stats":`)
	encodeStats(w, st)
	w.raw("}}")
	return w.b
}

func encodeStreams(w *jsonw, ss logql.Streams, categorize bool) {
	w.byte('[')
	for i, s := range ss {
		if i > 0 {
			w.byte(',')
		}
		w.raw(`{"stream":`)
		w.labels(s.Labels)
		w.raw(`,"values":[`)
		for j, e := range s.Entries {
			if j > 0 {
				w.byte(',')
			}
			w.raw(`["`)
			w.int(e.Timestamp)
			w.raw(`",`)
			w.str(e.Line)
			if categorize {
				encodeCategories(w, e)
			}
			w.byte(']')
		}
		w.raw("]}")
	}
	w.byte(']')
}

func encodeCategories(w *jsonw, e logql.StreamEntry) {
	w.raw(",{")
	if len(e.StructuredMetadata) > 0 {
		w.raw(`"structuredMetadata":`)
		w.labels(e.StructuredMetadata)
	}
	if len(e.Parsed) > 0 {
		if len(e.StructuredMetadata) > 0 {
			w.byte(',')
		}
		w.raw(`"parsed":`)
		w.labels(e.Parsed)
	}
	w.byte('}')
}

func encodeMatrix(w *jsonw, m logql.Matrix) {
	w.byte('[')
	for i, s := range m {
		if i > 0 {
			w.byte(',')
		}
		w.raw(`{"metric":`)
		w.labels(s.Labels)
		w.raw(`,"values":[`)
		for j, p := range s.Points {
			if j > 0 {
				w.byte(',')
			}
			w.byte('[')
			w.promTime(p.T)
			w.byte(',')
			w.promValue(p.V)
			w.byte(']')
		}
		w.raw("]}")
	}
	w.byte(']')
}

func encodeVector(w *jsonw, v logql.Vector) {
	w.byte('[')
	for i, s := range v {
		if i > 0 {
			w.byte(',')
		}
		w.raw(`{"metric":`)
		w.labels(s.Labels)
		w.raw(`,"value":[`)
		w.promTime(s.T)
		w.byte(',')
		w.promValue(s.V)
		w.raw("]}")
	}
	w.byte(']')
}

// encodeStats writes the fields Grafana and logcli read (summary, store, ingester);
// Strata reports what it processed under summary and store.
func encodeStats(w *jsonw, st execStats) {
	secs := st.took.Seconds()
	perSec := func(n int64) int64 {
		if secs <= 0 {
			return 0
		}
		return int64(float64(n) / secs)
	}
	w.raw(`{"summary":{"bytesProcessedPerSecond":`)
	w.int(perSec(st.bytes))
	w.raw(`,"linesProcessedPerSecond":`)
	w.int(perSec(st.lines))
	w.raw(`,"totalBytesProcessed":`)
	w.int(st.bytes)
	w.raw(`,"totalLinesProcessed":`)
	w.int(st.lines)
	w.raw(`,"execTime":`)
	w.raw(strconv.FormatFloat(secs, 'f', -1, 64))
	w.raw(`,"queueTime":0,"subqueries":0,"totalEntriesReturned":`)
	w.int(st.returned)
	w.raw(`},"store":{"totalChunksRef":0,"totalChunksDownloaded":0,"chunksDownloadTime":0,`)
	w.raw(`"headChunkBytes":0,"headChunkLines":0,"decompressedBytes":`)
	w.int(st.bytes)
	w.raw(`,"decompressedLines":`)
	w.int(st.lines)
	w.raw(`,"compressedBytes":0,"totalDuplicates":0},"ingester":{"totalReached":0,"totalChunksMatched":0,"totalBatches":0,"totalLinesSent":0,`)
	w.raw(`"headChunkBytes":0,"headChunkLines":0,"decompressedBytes":0,"decompressedLines":0,"compressedBytes":0,"totalDuplicates":0}}`)
}
