package incidents

import (
	"slices"
	"strings"

	"opsbot/incident"
)

// ThreadChannel checks the channel asked for an incident's thread, as the
// platform the command came from wrote it, against the channels the
// configuration knows (config.IncidentChannels; here is where the
// command came from) and returns its address. "" stays "": the configured
// incident channel. Nothing is opened when it is refused.
func (s *Service) ThreadChannel(platform, asked, here string) (string, error) {
	if strings.TrimSpace(asked) == "" {
		return "", nil
	}
	addr, err := incident.ParseChannel(platform, asked)
	if err != nil {
		return "", err
	}
	known := s.cfg().IncidentChannels(here)
	if slices.Contains(known, addr) {
		return addr, nil
	}
	refs := make([]string, len(known))
	for i, k := range known {
		refs[i] = incident.ChannelRef(k)
	}
	return "", incident.Refusef(incident.ErrBadInput, "channel %s is not one opsbot posts incidents to; choose one of: %s", incident.ChannelRef(addr), orNone(refs))
}
