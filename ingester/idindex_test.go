package ingester

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestIDIndexMatchesAMap runs random claims, sets and deletes against the index and a Go
// map side by side. Small id ranges force repeats and long probe runs (ids that share a
// home, runs that wrap past the table's end); the table grows past its minimum and
// shrinks back as ids go.
func TestIDIndexMatchesAMap(t *testing.T) {
	for _, span := range []uint64{50, 5_000, 1 << 62} {
		rnd := rand.New(rand.NewPCG(span, 7))
		x := newIDIndex(0)
		want := map[uint64]entryRef{}
		check := func(id uint64) {
			t.Helper()
			got, ok := x.get(id)
			w, wok := want[id]
			if ok != wok || got != w {
				t.Fatalf("span %d: get(%d) = %v, %v; want %v, %v", span, id, got, ok, w, wok)
			}
		}
		grew := false
		for step := 0; step < 400_000; step++ {
			id := rnd.Uint64N(span)
			if span > 1<<40 && step%3 == 0 && len(want) > 0 {
				for k := range want { // deletes of held ids, not only misses
					id = k
					break
				}
			}
			switch op := rnd.IntN(10); {
			case step < 150_000 && op < 7, step >= 150_000 && op < 3:
				ref, fresh := x.claim(id)
				if _, held := want[id]; held == fresh {
					t.Fatalf("span %d: claim(%d) fresh = %v with the id held = %v", span, id, fresh, held)
				}
				if fresh {
					r := entryRef{seq: uint32(step), pos: uint32(id)}
					*ref, want[id] = r, r
				}
			default:
				x.delete(id)
				delete(want, id)
			}
			check(id)
			if x.len() != len(want) {
				t.Fatalf("span %d: len %d, want %d", span, x.len(), len(want))
			}
			grew = grew || len(x.slots) > minIndexSlots
		}
		for id := range want {
			check(id)
		}
		for k := 0; k < 1000; k++ {
			check(rnd.Uint64N(span))
		}
		for id := range want { // as epochs retire
			x.delete(id)
			delete(want, id)
			check(id)
		}
		if x.len() != 0 || len(x.slots) != minIndexSlots || (span > 1<<40 && !grew) {
			t.Fatalf("span %d: emptied, the table holds %d ids in %d slots (grew before: %v)", span, x.len(), len(x.slots), grew)
		}
	}
}

// TestIDIndexKeepsIDZero: 0 marks a free slot, so id 0 is kept apart.
func TestIDIndexKeepsIDZero(t *testing.T) {
	x := newIDIndex(0)
	if _, ok := x.get(0); ok {
		t.Fatal("empty index holds id 0")
	}
	ref, fresh := x.claim(0)
	if !fresh {
		t.Fatal("claim(0) on an empty index is not fresh")
	}
	*ref = entryRef{seq: 3, pos: 4}
	if _, fresh := x.claim(0); fresh {
		t.Fatal("second claim(0) is fresh")
	}
	if got, ok := x.get(0); !ok || got != (entryRef{seq: 3, pos: 4}) || x.len() != 1 {
		t.Fatalf("get(0) = %v, %v, len %d", got, ok, x.len())
	}
	x.delete(0)
	if _, ok := x.get(0); ok || x.len() != 0 {
		t.Fatal("id 0 survived its delete")
	}
}

// BenchmarkIndex holds records the way an RF=3 ingester does (about 600,000 live,
// retired a batch at a time) and times one record's arrival and retirement: a Go map of
// pointerful refs against the index.
func BenchmarkIndex(b *testing.B) {
	const live = 600_000
	id := func(k int) uint64 { // splitmix64: distinct, random-looking record ids
		z := uint64(k+1) * 0x9E3779B97F4A7C15
		z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
		z = (z ^ z>>27) * 0x94D049BB133111EB
		return z ^ z>>31
	}
	e := &epoch{seq: 1}
	b.Run("map", func(b *testing.B) {
		type mapRef struct {
			ep   *epoch
			idx  int32
			span bool
		}
		m := map[uint64]mapRef{}
		for k := range live {
			m[id(k)] = mapRef{ep: e}
		}
		b.ResetTimer()
		for k := 0; k < b.N; k++ {
			if _, dup := m[id(live+k)]; !dup {
				m[id(live+k)] = mapRef{ep: e, idx: int32(k)}
			}
			delete(m, id(k))
		}
	})
	filled := func() *idIndex {
		x := newIDIndex(0)
		for k := range live {
			ref, _ := x.claim(id(k))
			*ref = logRef(e, 0)
		}
		return &x
	}
	b.Run("index", func(b *testing.B) {
		x := filled()
		b.ResetTimer()
		for k := 0; k < b.N; k++ {
			if ref, fresh := x.claim(id(live + k)); fresh {
				*ref = logRef(e, k)
			}
			x.delete(id(k))
		}
	})
	// As insert and retire do: each id prefetched prefetchAhead steps before its claim or
	// delete.
	b.Run("index-prefetched", func(b *testing.B) {
		x := filled()
		b.ResetTimer()
		for k := 0; k < b.N; k++ {
			x.prefetch(id(live + k + prefetchAhead))
			x.prefetch(id(k + prefetchAhead))
			if ref, fresh := x.claim(id(live + k)); fresh {
				*ref = logRef(e, k)
			}
			x.delete(id(k))
		}
	})
}

// BenchmarkIndexDeleteEpoch retires an epoch of 200,000 ids from an index of 1.2 million,
// as retire does, with and without prefetching ahead of the deletes.
func BenchmarkIndexDeleteEpoch(b *testing.B) {
	id := func(k int) uint64 {
		z := uint64(k+1) * 0x9E3779B97F4A7C15
		z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
		z = (z ^ z>>27) * 0x94D049BB133111EB
		return z ^ z>>31
	}
	const live, epochIDs = 1_200_000, 200_000
	e := &epoch{seq: 1}
	for _, ahead := range []int{0, prefetchAhead} {
		b.Run(fmt.Sprint("ahead=", ahead), func(b *testing.B) {
			x := newIDIndex(1_000_000)
			next := 0
			for ; next < live; next++ {
				ref, _ := x.claim(id(next))
				*ref = logRef(e, 0)
			}
			ids := make([]uint64, epochIDs)
			oldest := 0
			for b.Loop() {
				b.StopTimer()
				for j := range ids {
					ids[j] = id(oldest + j)
				}
				oldest += epochIDs
				b.StartTimer()
				for j, v := range ids {
					if ahead > 0 && j+ahead < len(ids) {
						x.prefetch(ids[j+ahead])
					}
					x.delete(v)
				}
				b.StopTimer()
				for range epochIDs { // the next epoch's
					ref, _ := x.claim(id(next))
					*ref = logRef(e, 0)
					next++
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*epochIDs), "ns/id")
		})
	}
}

// TestIndexSizedWithinTheMemoryLimit: the index starts at five epochs of ids, but as live
// heap it counts against -ingester.max-memory-bytes, so a small limit caps it.
func TestIndexSizedWithinTheMemoryLimit(t *testing.T) {
	for _, c := range []struct {
		epoch int
		mem   int64
		slots int
	}{
		{200_000, 512 << 20, 1 << 21}, // the defaults: 32 MiB
		{200_000, 64 << 20, 1 << 18},  // a small memory limit: 4 MiB
		{1_000, 512 << 20, minIndexSlots},
	} {
		x := newIDIndex(indexedRecords(Config{MaxEpochRecords: c.epoch, MaxMemoryBytes: c.mem}))
		if len(x.slots) != c.slots || int64(len(x.slots))*16 > max(c.mem/16, minIndexSlots*16) {
			t.Errorf("epochs of %d records, memory limit %d: %d slots, want %d", c.epoch, c.mem, len(x.slots), c.slots)
		}
	}
}
