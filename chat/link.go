package chat

// Linker is a Poster that can give people a link to a message it posted
// (channel and message id as in its Refs); "" when it knows none.
type Linker interface {
	Link(channel, messageID string) string
}

var _ Linker = (*Router)(nil)

// Link returns a link to message id in channel (an address such as
// "slack:C1"), or "" when the platform gives none.
func (r *Router) Link(channel, id string) string {
	platform, ch := SplitAddr(channel)
	p, err := r.poster(platform)
	if err != nil {
		return ""
	}
	if l, ok := p.(Linker); ok {
		return l.Link(ch, id)
	}
	return ""
}
