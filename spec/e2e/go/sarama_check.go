// Sarama 1.22.1 (Debian's golang-github-shopify-sarama-dev) against a Flotilla cluster, with
// config.Version pinned: Sarama then never sends ApiVersions and picks each request's version from
// that Kafka release. Built in GOPATH mode from Debian's sources by the spec (no module download).
//
// Usage: sarama_check [FLAGS] BROKERS VERSION DATA_TOPIC (VERSION as Sarama parses it: 0.11.0.0, 1.0.0)
// Prints one JSON object: each step's result, or its error (the steps go on where they can).
// Flags (spec/e2e/security-clients.spec.ts): -tls-ca FILE (Net.TLS with that CA), -sasl MECHANISM
// with -user and -password-file (PLAIN; SCRAM-SHA-256/512 only when built with sarama_scram.go),
// -steps a,b (only those steps), -count N (records), -group NAME.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"sort"
	"strings"
	"time"

	"github.com/Shopify/sarama"
)

type handler struct {
	want     int
	consumed [][2]int64
	done     chan struct{}
}

func (h *handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		h.consumed = append(h.consumed, [2]int64{int64(m.Partition), m.Offset})
		s.MarkMessage(m, "")
		if len(h.consumed) == h.want {
			close(h.done)
		}
	}
	return nil
}

// scramClient makes Sarama's SCRAM client for a mechanism; set by sarama_scram.go when that file is
// built in (it needs Debian's golang-github-xdg-go-scram-dev), nil otherwise.
var scramClient func(mechanism sarama.SASLMechanism) func() sarama.SCRAMClient

func main() {
	tlsCA := flag.String("tls-ca", "", "CA file: connect with TLS, verifying the nodes against it")
	mechanism := flag.String("sasl", "", "SASL mechanism: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	user := flag.String("user", "", "SASL user")
	passwordFile := flag.String("password-file", "", "file whose first line is the SASL password")
	only := flag.String("steps", "", "comma-separated steps to run (default: every step)")
	count := flag.Int("count", 100, "records to produce")
	groupFlag := flag.String("group", "", "consumer group (default sarama-g-VERSION)")
	flag.Parse()
	args := flag.Args()
	brokers := strings.Split(args[0], ",")
	version, err := sarama.ParseKafkaVersion(args[1])
	if err != nil {
		panic(err)
	}
	tag := strings.ReplaceAll(args[1], ".", "")
	topic, group := args[2], "sarama-g-"+tag
	if *groupFlag != "" {
		group = *groupFlag
	}
	steps := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s != "" {
			steps[s] = true
		}
	}
	out := map[string]interface{}{}
	errs := map[string]string{}
	out["errors"] = errs
	step := func(name string, f func() (interface{}, error)) bool {
		if len(steps) > 0 && !steps[name] {
			return false
		}
		v, err := f()
		if err != nil {
			errs[name] = err.Error()
			return false
		}
		out[name] = v
		return true
	}

	cfg := sarama.NewConfig()
	cfg.Version = version
	cfg.ClientID = "sarama-" + args[1]
	cfg.Admin.Timeout = 20 * time.Second
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Metadata.Retry.Max = 10
	cfg.Metadata.Retry.Backoff = 200 * time.Millisecond
	if *tlsCA != "" {
		pem, err := ioutil.ReadFile(*tlsCA)
		if err != nil {
			panic(err)
		}
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			panic("no certificate in " + *tlsCA)
		}
		cfg.Net.TLS.Enable = true
		cfg.Net.TLS.Config = &tls.Config{RootCAs: roots}
	}
	if *mechanism != "" {
		// The password comes from a file: a command line is visible to every user of the machine.
		b, err := ioutil.ReadFile(*passwordFile)
		if err != nil {
			panic(err)
		}
		cfg.Net.SASL.Enable = true
		cfg.Net.SASL.Mechanism = sarama.SASLMechanism(*mechanism)
		cfg.Net.SASL.User = *user
		cfg.Net.SASL.Password = strings.SplitN(string(b), "\n", 2)[0]
		if strings.HasPrefix(*mechanism, "SCRAM-") {
			if scramClient == nil {
				panic("built without SCRAM: build sarama_scram.go with it (golang-github-xdg-go-scram-dev)")
			}
			cfg.Net.SASL.SCRAMClientGeneratorFunc = scramClient(cfg.Net.SASL.Mechanism)
		}
	}

	defer func() { b, _ := json.Marshal(out); fmt.Println(string(b)) }()
	// A new admin for each step: the node closing one admin's connection (a version it refuses)
	// then fails that step only, not every later one.
	withAdmin := func(f func(sarama.ClusterAdmin) (interface{}, error)) func() (interface{}, error) {
		return func() (interface{}, error) {
			a, err := sarama.NewClusterAdmin(brokers, cfg)
			if err != nil {
				return nil, err
			}
			defer a.Close()
			return f(a)
		}
	}
	detail := &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 3, ConfigEntries: map[string]*string{"retention.ms": strPtr("3600000")}}
	// CreateTopics at the pinned version on a topic of its own; the other steps use the topic the
	// spec made (DATA_TOPIC, 3 partitions, retention.ms=3600000), so that a refused CreateTopics
	// still leaves them to check.
	if step("created", withAdmin(func(a sarama.ClusterAdmin) (interface{}, error) {
		return true, a.CreateTopic("sarama-create-"+tag, detail, false)
	})) {
		step("createdDeleted", withAdmin(func(a sarama.ClusterAdmin) (interface{}, error) { return true, a.DeleteTopic("sarama-create-" + tag) }))
	}
	step("described", withAdmin(func(admin sarama.ClusterAdmin) (interface{}, error) {
		md, err := admin.DescribeTopics([]string{topic})
		if err != nil || len(md) != 1 {
			return nil, err
		}
		return len(md[0].Partitions), nil
	}))
	step("config", withAdmin(func(admin sarama.ClusterAdmin) (interface{}, error) {
		entries, err := admin.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
		for _, e := range entries {
			if e.Name == "retention.ms" {
				return e.Value, err
			}
		}
		return nil, err
	}))
	step("acked", func() (interface{}, error) {
		p, err := sarama.NewSyncProducer(brokers, cfg)
		if err != nil {
			return nil, err
		}
		defer p.Close()
		acked := [][2]int64{}
		for i := 0; i < *count; i++ {
			part, off, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Partition: int32(i % 3), Key: sarama.StringEncoder(fmt.Sprintf("k%d", i)), Value: sarama.StringEncoder(fmt.Sprintf("v%d", i))})
			if err != nil {
				return nil, err
			}
			acked = append(acked, [2]int64{int64(part), off})
		}
		sort.Slice(acked, func(i, j int) bool {
			return acked[i][0] < acked[j][0] || (acked[i][0] == acked[j][0] && acked[i][1] < acked[j][1])
		})
		return acked, nil
	})
	if _, ok := out["acked"]; ok && version.IsAtLeast(sarama.V0_10_2_0) {
		step("consumed", func() (interface{}, error) {
			g, err := sarama.NewConsumerGroup(brokers, group, cfg)
			if err != nil {
				return nil, err
			}
			h := &handler{want: *count, done: make(chan struct{})}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			errc := make(chan error, 1)
			go func() { errc <- g.Consume(ctx, []string{topic}, h) }()
			timedOut := false
			select {
			case <-h.done:
			case <-ctx.Done():
				timedOut = true
			case err = <-errc:
			}
			cancel()
			g.Close()
			// Sarama 1.22.1 retries a failed FindCoordinator (GROUP_AUTHORIZATION_FAILED included)
			// without counting the retries (consumer_group.go retryNewSession): Consume then never
			// returns, and only the timeout says the group was never joined.
			if timedOut && err == nil {
				err = fmt.Errorf("%d of %d records in 60 s", len(h.consumed), h.want)
			}
			sort.Slice(h.consumed, func(i, j int) bool {
				return h.consumed[i][0] < h.consumed[j][0] || (h.consumed[i][0] == h.consumed[j][0] && h.consumed[i][1] < h.consumed[j][1])
			})
			if err != nil {
				return h.consumed, err
			}
			return h.consumed, nil
		})
		step("committed", withAdmin(func(admin sarama.ClusterAdmin) (interface{}, error) {
			r, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0, 1, 2}})
			if err != nil {
				return nil, err
			}
			m := map[string]int64{}
			for p, b := range r.Blocks[topic] {
				m[fmt.Sprint(p)] = b.Offset
			}
			return m, nil
		}))
		step("group", withAdmin(func(admin sarama.ClusterAdmin) (interface{}, error) {
			d, err := admin.DescribeConsumerGroups([]string{group})
			if err != nil || len(d) != 1 {
				return nil, err
			}
			return map[string]string{"state": d[0].State, "protocolType": d[0].ProtocolType}, nil
		}))
	}
	step("endOffsets", func() (interface{}, error) {
		c, err := sarama.NewClient(brokers, cfg)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		m := map[string]int64{}
		for p := int32(0); p < 3; p++ {
			o, err := c.GetOffset(topic, p, sarama.OffsetNewest)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(p)] = o
		}
		return m, nil
	})
	step("deleted", withAdmin(func(admin sarama.ClusterAdmin) (interface{}, error) { return true, admin.DeleteTopic(topic) }))
}

func strPtr(s string) *string { return &s }
