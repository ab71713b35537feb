package clickhouse

import (
	"encoding/json"
	"strings"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// AttrsJSON renders attributes as a flat JSON object of strings; span events and links
// store their attributes this way because 18.16 has neither Map nor nested arrays of tuples.
func AttrsJSON(attrs []*pb.Attr) string {
	if len(attrs) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteByte('{')
	for i, a := range attrs {
		if i > 0 {
			sb.WriteByte(',')
		}
		writeJSONString(&sb, a.Key)
		sb.WriteByte(':')
		writeJSONString(&sb, a.Value)
	}
	sb.WriteByte('}')
	return sb.String()
}

func writeJSONString(sb *strings.Builder, s string) {
	b, _ := json.Marshal(s) // marshalling a string cannot fail
	sb.Write(b)
}
