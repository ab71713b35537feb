package clickhouse

import (
	"reflect"
	"strconv"
	"testing"
)

// pack is packedPairsSQL's format, written in Go.
func pack(keys, values []string) string {
	s := ""
	for i := range keys {
		s += strconv.Itoa(len(keys[i])) + ":" + keys[i] + strconv.Itoa(len(values[i])) + ":" + values[i]
	}
	return s
}

func TestUnpackPairs(t *testing.T) {
	cases := [][2][]string{
		{nil, nil},
		{{"k"}, {"v"}},
		{{"", "a:b", "12:x", "ключ"}, {"", "3:abc", ":", "значение\x00\xff"}},
		{{"user"}, {""}},
	}
	for _, c := range cases {
		keys, values, err := unpackPairs(pack(c[0], c[1]))
		if err != nil {
			t.Errorf("%q: %v", c, err)
			continue
		}
		if len(keys)+len(c[0]) > 0 && (!reflect.DeepEqual(keys, c[0]) || !reflect.DeepEqual(values, c[1])) {
			t.Errorf("%q: unpacked %q %q", c, keys, values)
		}
	}
	for _, bad := range []string{"x", "3:ab", "1:a", "-1:a0:", "1:a9:b", ":a0:"} {
		if _, _, err := unpackPairs(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzUnpackPairs(f *testing.F) {
	f.Add("a", "b", "c:d", "9:")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		keys, values, err := unpackPairs(pack([]string{k1, k2}, []string{v1, v2}))
		if err != nil || !reflect.DeepEqual(keys, []string{k1, k2}) || !reflect.DeepEqual(values, []string{v1, v2}) {
			t.Fatalf("%q %q %q %q: got %q %q, %v", k1, v1, k2, v2, keys, values, err)
		}
	})
}
