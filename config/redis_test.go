package config

import (
	"reflect"
	"testing"
)

// TestRedisDeployments: redis.url, a redis+sentinel:// or redis+cluster://
// URL, a sentinel block and a cluster block each select their deployment;
// on a cluster the namespace gets a hash tag unless it has one.
func TestRedisDeployments(t *testing.T) {
	tests := []struct {
		name, redis string // the redis section's body
		mode, ns    string
		sentinel    *SentinelConfig
		cluster     *ClusterConfig
	}{
		{name: "embedded", redis: "  namespace: crm\n", mode: "embedded", ns: "crm"},
		{name: "single", redis: "  url: redis://127.0.0.1:6379/2\n", mode: "single", ns: "crmsync"},
		{name: "sentinel url", redis: "  url: redis+sentinel://:s3cret@10.0.0.1:26379,10.0.0.2:26380/mymaster/3\n",
			mode: "sentinel", ns: "crmsync",
			sentinel: &SentinelConfig{Master: "mymaster", Addrs: []string{"10.0.0.1:26379", "10.0.0.2:26380"}, Password: "s3cret", DB: 3}},
		{name: "sentinel url without db", redis: "  url: redis+sentinel://user:p%40ss@sentinel:26379/main\n",
			mode: "sentinel", ns: "crmsync",
			sentinel: &SentinelConfig{Master: "main", Addrs: []string{"sentinel:26379"}, Username: "user", Password: "p@ss"}},
		{name: "sentinel block",
			redis: "  sentinel:\n    master: mymaster\n    addrs: [s1:26379, s2:26379]\n    password: pw\n    sentinel_password: spw\n",
			mode:  "sentinel", ns: "crmsync",
			sentinel: &SentinelConfig{Master: "mymaster", Addrs: []string{"s1:26379", "s2:26379"}, Password: "pw", SentinelPassword: "spw"}},
		{name: "cluster block", redis: "  cluster:\n    nodes: [n1:7000, n2:7001, n3:7002]\n",
			mode: "cluster", ns: "{crmsync}", cluster: &ClusterConfig{Nodes: []string{"n1:7000", "n2:7001", "n3:7002"}}},
		{name: "cluster url, tagged namespace", redis: "  url: redis+cluster://:pw@n1:7000,n2:7001\n  namespace: prod-{crm}\n",
			mode: "cluster", ns: "prod-{crm}", cluster: &ClusterConfig{Nodes: []string{"n1:7000", "n2:7001"}, Password: "pw"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("crmsync.yaml", []byte("redis:\n"+tt.redis+minimalRest), "testdata")
			if err != nil {
				t.Fatal(err)
			}
			r := c.Redis
			if r.Mode() != tt.mode || r.Namespace != tt.ns {
				t.Errorf("mode %q, namespace %q; want %q, %q", r.Mode(), r.Namespace, tt.mode, tt.ns)
			}
			if !reflect.DeepEqual(r.Sentinel, tt.sentinel) || !reflect.DeepEqual(r.Cluster, tt.cluster) {
				t.Errorf("sentinel %+v, cluster %+v; want %+v, %+v", r.Sentinel, r.Cluster, tt.sentinel, tt.cluster)
			}
			if tt.mode != "single" && r.URL != "" {
				t.Errorf("url %q left set in %s mode", r.URL.Reveal(), tt.mode)
			}
		})
	}
}

// minimalRest is what a config needs besides its redis section.
const minimalRest = "notify: {outbox: o}\nrule_files: [rules/a.yaml]\n"

// TestRedisErrors: each problem is reported at its place in the file, and
// never shows a password.
func TestRedisErrors(t *testing.T) {
	tests := []struct{ name, redis, want string }{
		{"url and cluster", "  url: redis://h:6379\n  cluster: {nodes: [n1:7000]}\n",
			"crmsync.yaml:3:12: redis.cluster: at most one of redis.url (or url_file), redis.sentinel and redis.cluster; redis.url is set too"},
		{"cluster before sentinel", "  cluster: {nodes: [n1:7000]}\n  sentinel: {master: m, addrs: [s:1]}\n",
			"crmsync.yaml:3:13: redis.sentinel: at most one of redis.url (or url_file), redis.sentinel and redis.cluster; redis.cluster is set too"},
		{"sentinel url and block", "  url: redis+sentinel://s:26379/m\n  sentinel: {master: m, addrs: [s:1]}\n",
			"crmsync.yaml:3:13: redis.sentinel: at most one of redis.url (or url_file), redis.sentinel and redis.cluster; redis.url is set too"},
		{"sentinel without master", "  url: redis+sentinel://:hunter2@s:26379\n",
			"crmsync.yaml:2:8: redis.url: no master name (want redis+sentinel://[:password@]host:port[,host:port...]/master[/db])"},
		{"sentinel bad db", "  url: redis+sentinel://s:26379/m/x\n",
			"crmsync.yaml:2:8: redis.url: invalid db number (want redis+sentinel://[:password@]host:port[,host:port...]/master[/db])"},
		{"sentinel bad host", "  url: redis+sentinel://:hunter2@s:26379,s2/m\n",
			`crmsync.yaml:2:8: redis.url: invalid address "s2" (want host:port) (want redis+sentinel://[:password@]host:port[,host:port...]/master[/db])`},
		{"cluster with a db", "  url: redis+cluster://n1:7000/1\n",
			"crmsync.yaml:2:8: redis.url: a cluster has no db number (want redis+cluster://[:password@]host:port[,host:port...])"},
		{"unknown scheme", "  url: http://u:hunter2@h:6379\n",
			"crmsync.yaml:2:8: redis.url: want a redis://host:port/db or rediss://host:port/db URL (or redis+sentinel://, redis+cluster://)"},
		{"sentinel block empty", "  sentinel: {db: -1}\n",
			"crmsync.yaml:2:13: redis.sentinel.master: required: the primary's name in the Sentinels' configuration\n" +
				"crmsync.yaml:2:13: redis.sentinel.addrs: required: at least one Sentinel, host:port\n" +
				"crmsync.yaml:2:18: redis.sentinel.db: must not be negative, got -1"},
		{"cluster bad node", "  cluster:\n    nodes: [n1:7000, n2:0]\n",
			`crmsync.yaml:3:22: redis.cluster.nodes[1]: invalid port in "n2:0"`},
		{"cluster without nodes", "  cluster: {password: x}\n",
			"crmsync.yaml:2:12: redis.cluster.nodes: required: at least one node of the cluster, host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("crmsync.yaml", []byte("redis:\n"+tt.redis+minimalRest), "testdata")
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Parse error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}
