// SCRAM-SHA-256/512 for sarama_check.go: Sarama 1.22.1 leaves the SCRAM exchange to a client the
// program supplies (Config.Net.SASL.SCRAMClientGeneratorFunc); this one is Debian's
// golang-github-xdg-go-scram-dev (github.com/xdg-go/scram 1.1.1). Built with sarama_check.go only
// when that package is installed, so that the rest of sarama_check needs Sarama alone.
package main

import (
	"github.com/Shopify/sarama"
	"github.com/xdg-go/scram"
)

// xdgSCRAM is Sarama's SCRAMClient (Begin, Step, Done) over one xdg-go/scram conversation.
type xdgSCRAM struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (x *xdgSCRAM) Begin(user, password, authzID string) error {
	c, err := x.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	x.conv = c.NewConversation()
	return nil
}

func (x *xdgSCRAM) Step(challenge string) (string, error) { return x.conv.Step(challenge) }
func (x *xdgSCRAM) Done() bool                            { return x.conv.Done() }

func init() {
	scramClient = func(mechanism sarama.SASLMechanism) func() sarama.SCRAMClient {
		hash := scram.SHA256
		if mechanism == sarama.SASLTypeSCRAMSHA512 {
			hash = scram.SHA512
		}
		return func() sarama.SCRAMClient { return &xdgSCRAM{hash: hash} }
	}
}
