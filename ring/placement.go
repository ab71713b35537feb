package ring

import (
	dsring "github.com/grafana/dskit/ring"
)

// PlacementRing wraps a ring for dskit's DoBatchWithOptions and remembers the replication
// set it returns for each key, in call order. DoBatch calls Get once per key, in key order,
// so after the batch is planned Sets[i] is the replication set of keys[i]. This lets the
// distributor tell each replica its rank without asking the ring twice.
type PlacementRing struct {
	dsring.DoBatchRing
	Sets [][]string
}

// Get records the addresses of the replication set, in ring order.
func (p *PlacementRing) Get(key uint32, op dsring.Operation, bufDescs []dsring.InstanceDesc, bufHosts, bufZones []string) (dsring.ReplicationSet, error) {
	rs, err := p.DoBatchRing.Get(key, op, bufDescs, bufHosts, bufZones)
	if err != nil {
		return rs, err
	}
	addrs := make([]string, len(rs.Instances))
	for i, in := range rs.Instances {
		addrs[i] = in.Addr
	}
	p.Sets = append(p.Sets, addrs)
	return rs, nil
}

// Rank is addr's position in set, or -1.
func Rank(set []string, addr string) int {
	for i, a := range set {
		if a == addr {
			return i
		}
	}
	return -1
}
