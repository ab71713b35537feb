package bench

import (
	"fmt"
	"log"
	"os"
	"sync"
	"testing"
)

// T lets a program use helpers written for tests (integration/cluster takes a
// testing.TB): Fatal ends the phase through a panic that Run recovers, and cleanups run
// when the phase ends, last registered first. Methods of testing.TB it does not define
// (Skip, Setenv, ...) are not supported and panic.
type T struct {
	testing.TB // nil; only the methods below are implemented

	name     string
	mu       sync.Mutex
	cleanups []func()
	failed   bool
}

type fatal struct{ msg string }

// Run calls fn with a fresh T, runs its cleanups and returns the first fatal failure.
func Run(name string, fn func(t *T)) (err error) {
	t := &T{name: name}
	defer func() {
		if r := recover(); r != nil {
			f, ok := r.(fatal)
			if !ok {
				t.runCleanups()
				panic(r)
			}
			err = fmt.Errorf("%s: %s", name, f.msg)
		}
		t.runCleanups()
		if err == nil && t.Failed() {
			err = fmt.Errorf("%s: failed (see the log above)", name)
		}
	}()
	fn(t)
	return nil
}

// Parallel runs fns concurrently and fails t with the first fatal failure among them.
func (t *T) Parallel(fns ...func()) {
	errs := make([]any, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { errs[i] = recover() }()
			fn()
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			panic(e)
		}
	}
}

func (t *T) runCleanups() {
	t.mu.Lock()
	cs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
}

func (t *T) Helper()        {}
func (t *T) Name() string   { return t.name }
func (t *T) Log(a ...any)   { log.Print(append([]any{t.name + ": "}, a...)...) }
func (t *T) Error(a ...any) { t.Log(a...); t.markFailed() }
func (t *T) Fail()          { t.markFailed() }
func (t *T) FailNow()       { t.markFailed(); panic(fatal{"FailNow"}) }
func (t *T) Fatal(a ...any) {
	t.markFailed()
	panic(fatal{fmt.Sprint(a...)})
}

func (t *T) Logf(format string, a ...any)   { log.Printf(t.name+": "+format, a...) }
func (t *T) Errorf(format string, a ...any) { t.Logf(format, a...); t.markFailed() }
func (t *T) Fatalf(format string, a ...any) {
	t.markFailed()
	panic(fatal{fmt.Sprintf(format, a...)})
}

func (t *T) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *T) markFailed() {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
}

func (t *T) Cleanup(f func()) {
	t.mu.Lock()
	t.cleanups = append(t.cleanups, f)
	t.mu.Unlock()
}

// TempDir returns a new directory removed when the phase ends.
func (t *T) TempDir() string {
	dir, err := os.MkdirTemp("", "strata-bench-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
