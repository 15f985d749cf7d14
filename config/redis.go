package config

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// RedisConfig says where state and queues live: one server (url), a
// primary managed by Redis Sentinel (a redis+sentinel:// url, or sentinel)
// or a Redis Cluster (a redis+cluster:// url, or cluster). At most one of
// url (or url_file), sentinel and cluster; none means an embedded,
// in-memory Redis. After Load, a redis+sentinel:// or redis+cluster:// url
// has been moved into Sentinel or Cluster, and URL is empty.
type RedisConfig struct {
	URL       Secret          `yaml:"url"`       // redis://, rediss://, redis+sentinel:// or redis+cluster://
	URLFile   string          `yaml:"url_file"`  // file holding the URL instead of URL
	Sentinel  *SentinelConfig `yaml:"sentinel"`  // nil when absent
	Cluster   *ClusterConfig  `yaml:"cluster"`   // nil when absent
	Namespace string          `yaml:"namespace"` // prefix of every key; on a cluster, wrapped in {} unless it has a hash tag
}

// SentinelConfig is a Redis primary found and failed over by Redis
// Sentinel.
type SentinelConfig struct {
	Master           string   `yaml:"master"`            // the primary's name in the Sentinels' configuration
	Addrs            []string `yaml:"addrs"`             // the Sentinels, host:port
	Username         string   `yaml:"username"`          // ACL user of the primary and replicas
	Password         Secret   `yaml:"password"`          // password of the primary and replicas
	SentinelPassword Secret   `yaml:"sentinel_password"` // password of the Sentinels (requirepass)
	DB               int      `yaml:"db"`
	TLS              bool     `yaml:"tls"` // TLS to the Sentinels and the primary
}

// ClusterConfig is a Redis Cluster: a few of its nodes, from which the
// client learns the others.
type ClusterConfig struct {
	Nodes    []string `yaml:"nodes"` // host:port of some of its nodes
	Username string   `yaml:"username"`
	Password Secret   `yaml:"password"`
	TLS      bool     `yaml:"tls"`
}

// Mode names the deployment the config selects: "embedded", "single",
// "sentinel" or "cluster".
func (r *RedisConfig) Mode() string {
	switch {
	case r.Cluster != nil:
		return "cluster"
	case r.Sentinel != nil:
		return "sentinel"
	case r.URL != "":
		return "single"
	}
	return "embedded"
}

// URL schemes of redis.url.
const (
	schemeSentinel = "redis+sentinel"
	schemeCluster  = "redis+cluster"
)

func (c *Config) validateRedis(d *document) {
	r := &c.Redis
	if err := checkNamespace(r.Namespace); err != nil {
		d.addf("redis.namespace", "%v", err)
	}
	urlKey := "redis.url"
	if r.URLFile != "" {
		urlKey = "redis.url_file"
	}
	var set []string // the ways to reach Redis the file gives
	if r.URL != "" || r.URLFile != "" {
		set = append(set, urlKey)
	}
	if r.Sentinel != nil {
		set = append(set, "redis.sentinel")
	}
	if r.Cluster != nil {
		set = append(set, "redis.cluster")
	}
	slices.SortStableFunc(set, func(a, b string) int {
		na, nb := d.node(a), d.node(b)
		return cmp.Or(cmp.Compare(na.Line, nb.Line), cmp.Compare(na.Column, nb.Column))
	})
	if len(set) > 1 {
		d.addf(set[1], "at most one of redis.url (or url_file), redis.sentinel and redis.cluster; %s is set too", set[0])
		return
	}
	if r.URL != "" {
		c.validateRedisURL(d, urlKey)
	}
	if r.Sentinel != nil {
		validateSentinel(d, "redis.sentinel", r.Sentinel)
	}
	if r.Cluster != nil {
		validateCluster(d, "redis.cluster", r.Cluster)
		if !hasHashTag(r.Namespace) {
			// Every multi-key step (Lua scripts, MULTI) must stay in one
			// slot: the tag puts all of the namespace's keys there.
			r.Namespace = "{" + r.Namespace + "}"
		}
	}
}

// validateRedisURL checks redis.url (at key, redis.url or redis.url_file)
// and moves a redis+sentinel:// or redis+cluster:// URL into Sentinel or
// Cluster. It never shows the URL or url.Parse's error: both may hold a
// password.
func (c *Config) validateRedisURL(d *document, key string) {
	raw := c.Redis.URL.Reveal()
	scheme, _, _ := strings.Cut(raw, "://")
	switch scheme {
	case "redis", "rediss":
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			d.addf(key, "want a redis://host:port/db or rediss://host:port/db URL")
		}
	case schemeSentinel:
		s, err := parseSentinelURL(raw)
		if err != nil {
			d.addf(key, "%v (want redis+sentinel://[:password@]host:port[,host:port...]/master[/db])", err)
			return
		}
		c.Redis.Sentinel, c.Redis.URL = s, ""
	case schemeCluster:
		cl, err := parseClusterURL(raw)
		if err != nil {
			d.addf(key, "%v (want redis+cluster://[:password@]host:port[,host:port...])", err)
			return
		}
		c.Redis.Cluster, c.Redis.URL = cl, ""
	default:
		d.addf(key, "want a redis://host:port/db or rediss://host:port/db URL (or redis+sentinel://, redis+cluster://)")
	}
}

// splitMultiHostURL splits scheme://[user[:password]@]h1:p1,h2:p2[/path]
// into its user, password, hosts and path (without the leading '/').
// url.Parse refuses a comma-separated host list, hence this.
func splitMultiHostURL(raw, scheme string) (user, password string, hosts []string, path string, err error) {
	rest := strings.TrimPrefix(raw, scheme+"://")
	if i := strings.IndexAny(rest, "?#"); i >= 0 {
		return "", "", nil, "", errors.New("query parameters are not supported")
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		userinfo := rest[:at]
		rest = rest[at+1:]
		u, p, _ := strings.Cut(userinfo, ":")
		if user, err = url.PathUnescape(u); err != nil {
			return "", "", nil, "", errors.New("invalid user")
		}
		if password, err = url.PathUnescape(p); err != nil {
			return "", "", nil, "", errors.New("invalid password")
		}
	}
	hostList, path, _ := strings.Cut(rest, "/")
	for _, h := range strings.Split(hostList, ",") {
		if err := checkHostPort(h); err != nil {
			return "", "", nil, "", err
		}
		hosts = append(hosts, h)
	}
	return user, password, hosts, path, nil
}

func parseSentinelURL(raw string) (*SentinelConfig, error) {
	user, password, hosts, path, err := splitMultiHostURL(raw, schemeSentinel)
	if err != nil {
		return nil, err
	}
	master, db, hasDB := strings.Cut(path, "/")
	s := &SentinelConfig{Master: master, Addrs: hosts, Username: user, Password: Secret(password)}
	if master == "" {
		return nil, errors.New("no master name")
	}
	if hasDB {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return nil, errors.New("invalid db number")
		}
		s.DB = n
	}
	return s, nil
}

func parseClusterURL(raw string) (*ClusterConfig, error) {
	user, password, hosts, path, err := splitMultiHostURL(raw, schemeCluster)
	if err != nil {
		return nil, err
	}
	if path != "" {
		return nil, errors.New("a cluster has no db number")
	}
	return &ClusterConfig{Nodes: hosts, Username: user, Password: Secret(password)}, nil
}

// checkHostPort checks one host:port of a node list.
func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return fmt.Errorf("invalid address %q (want host:port)", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("invalid port in %q", addr)
	}
	return nil
}

func validateSentinel(d *document, p string, s *SentinelConfig) {
	if s.Master == "" {
		d.addf(p+".master", "required: the primary's name in the Sentinels' configuration")
	}
	if len(s.Addrs) == 0 {
		d.addf(p+".addrs", "required: at least one Sentinel, host:port")
	}
	for i, a := range s.Addrs {
		if err := checkHostPort(a); err != nil {
			d.addf(indexPath(p+".addrs", i), "%v", err)
		}
	}
	if s.DB < 0 {
		d.addf(p+".db", "must not be negative, got %d", s.DB)
	}
}

func validateCluster(d *document, p string, c *ClusterConfig) {
	if len(c.Nodes) == 0 {
		d.addf(p+".nodes", "required: at least one node of the cluster, host:port")
	}
	for i, a := range c.Nodes {
		if err := checkHostPort(a); err != nil {
			d.addf(indexPath(p+".nodes", i), "%v", err)
		}
	}
}

// hasHashTag reports whether s holds a Redis Cluster hash tag: a '{'
// followed, later, by a '}' with at least one byte between them. A key
// that starts with such a namespace hashes on the tag alone.
func hasHashTag(s string) bool {
	i := strings.IndexByte(s, '{')
	if i < 0 {
		return false
	}
	j := strings.IndexByte(s[i+1:], '}')
	return j > 0
}

// maxNamespace is the longest redis.namespace, in bytes.
const maxNamespace = 64

// namespacePattern is a redis.namespace: letters, digits, '-', '_' and '.',
// with at most one Redis Cluster hash tag ("{crm}") among them.
var namespacePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]*(\{[A-Za-z0-9_.-]+\})?[A-Za-z0-9_.-]*$`)

// checkNamespace validates a redis.namespace (see the package doc). crmsync
// joins it to its key parts with ':' and names queues "<namespace>:<queue>",
// so a ':' in it would let one deployment's names run into another's.
func checkNamespace(ns string) error {
	switch {
	case ns == "":
		return errors.New("must not be empty")
	case len(ns) > maxNamespace:
		return fmt.Errorf("too long: %d characters (at most %d)", len(ns), maxNamespace)
	case !namespacePattern.MatchString(ns):
		return fmt.Errorf(`invalid namespace %q (want letters, digits, "-", "_" and ".", with at most one {hash tag}; no spaces or ":")`, ns)
	}
	return nil
}
