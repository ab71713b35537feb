package integration

import (
	"bufio"
	"strconv"
	"strings"
	"testing"
)

// metricSum scrapes url (a /metrics endpoint) and sums every sample of the metric name
// whose label set contains all of the given `key="value"` pairs.
func metricSum(t *testing.T, url, name string, labels ...string) float64 {
	t.Helper()
	sum, found := metricSample(t, url, name, labels...)
	if !found {
		t.Fatalf("%s has no series %s%v", url, name, labels)
	}
	return sum
}

// metricSample is metricSum that reports a missing series instead of failing: a labelled
// series only appears once something was counted in it.
func metricSample(t *testing.T, url, name string, labels ...string) (float64, bool) {
	t.Helper()
	body, err := httpGet(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	var sum float64
	found := false
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		series := line[:sp]
		metric, lbls, _ := strings.Cut(series, "{")
		if metric != name {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(lbls, l) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			t.Fatalf("%s: bad sample %q", url, line)
		}
		sum += v
		found = true
	}
	return sum, found
}

// metricsSum sums metricSum over several processes' /metrics.
func metricsSum(t *testing.T, urls []string, name string, labels ...string) float64 {
	t.Helper()
	var s float64
	for _, u := range urls {
		s += metricSum(t, u, name, labels...)
	}
	return s
}
