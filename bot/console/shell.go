package console

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/chzyer/readline"

	"opsbot/chat"
	"opsbot/commands"
)

// Shell is the console adapter: the same verbs as in chat, typed in a
// terminal or piped in. Its user is the machine's local operator.
type Shell struct {
	Registry *commands.Registry
	Poster   *Poster
	In       io.Reader
	User     string
	// Interactive turns on line editing and prompts (a terminal).
	Interactive bool

	// pending is a piped line read as a possible confirmation that was
	// not one: it is the next command.
	pending *string
}

// Run reads commands until quit, end of input or ctx ends; a read blocked
// on a terminal or pipe does not hold up the end of ctx.
func (s *Shell) Run(ctx context.Context) error {
	next, closeIn := s.reader(ctx)
	defer closeIn()
	for ctx.Err() == nil {
		var line string
		var err error
		if s.pending != nil {
			line, s.pending = *s.pending, nil
		} else {
			line, err = next("ops> ")
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, readline.ErrInterrupt) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read command: %w", err)
		}
		line = strings.TrimSpace(line)
		switch line {
		case "":
			continue
		case "quit", "exit", "/quit", "/exit":
			return nil
		}
		s.handle(ctx, line, next)
	}
	return nil
}

func (s *Shell) handle(ctx context.Context, line string, next func(string) (string, error)) {
	req := commands.Request{Platform: "console", User: s.User, UserName: s.User, Channel: "", Text: line, Local: true}
	if words, err := commands.Split(line); err == nil {
		for i, w := range words {
			if w == "--yes" || w == "-y" {
				req.Confirmed = true
				req.Args = append(append([]string{}, words[:i]...), words[i+1:]...)
				break
			}
		}
	}
	req.Progress = func(m chat.Message) { s.Poster.Write(chat.Message{Context: m.Text}) }
	resp := s.Registry.Handle(ctx, req)
	s.Poster.Write(resp.Message)
	for _, b := range resp.Buttons {
		if b.ID != "confirm" {
			continue
		}
		prompt := "type yes to confirm (" + b.Label + "), anything else cancels: "
		if !s.Interactive {
			prompt = ""
		}
		answer, err := next(prompt)
		if err != nil {
			if !s.Interactive {
				s.Poster.Write(chat.Message{Text: "Not confirmed: the input ended. Piped, confirm with --yes on the command or a line that is exactly `yes` after it."})
			}
			return
		}
		id := "cancel"
		a := strings.TrimSpace(answer)
		switch {
		case s.Interactive && (strings.EqualFold(a, "yes") || strings.EqualFold(a, "y")):
			id = "confirm"
		case !s.Interactive && a == "yes":
			id = "confirm"
		case !s.Interactive:
			// Piped: the next command line is never taken for an answer.
			s.pending = &answer
			s.Poster.Write(chat.Message{Text: "Not confirmed: piped input confirms only with --yes on the command or a line that is exactly `yes` after it."})
		}
		out := s.Registry.Button(ctx, commands.Request{Platform: "console", User: s.User, UserName: s.User, Text: line, Local: true}, id, b.Value)
		s.Poster.Write(out.Message)
	}
}

func (s *Shell) reader(ctx context.Context) (func(string) (string, error), func()) {
	if s.Interactive {
		if f, ok := s.In.(*os.File); ok {
			rl, err := readline.NewEx(&readline.Config{Prompt: "ops> ", Stdin: f, Stdout: s.Poster.writer(), HistoryLimit: 500})
			if err == nil {
				// Alerts posted while the prompt waits are printed above it
				// and the prompt with what was typed is drawn again.
				restore := s.Poster.setWriter(rl.Stdout())
				stop := context.AfterFunc(ctx, func() { rl.Close() })
				return func(prompt string) (string, error) {
						rl.SetPrompt(prompt)
						return rl.Readline()
					}, func() {
						stop()
						restore()
						rl.Close()
					}
			}
		}
	}
	type result struct {
		line string
		err  error
	}
	lines := make(chan result)
	want := make(chan struct{})
	done := make(chan struct{})
	// One reader goroutine, asked for one line at a time, so nothing is read
	// ahead of a confirmation prompt; it is left blocked at the end (the
	// process is leaving).
	go func() {
		sc := bufio.NewScanner(s.In)
		sc.Buffer(make([]byte, 64*1024), 1<<20)
		for {
			select {
			case <-want:
			case <-done:
				return
			}
			r := result{}
			if sc.Scan() {
				r.line = sc.Text()
			} else if r.err = sc.Err(); r.err == nil {
				r.err = io.EOF
			}
			select {
			case lines <- r:
			case <-done:
				return
			}
			if r.err != nil {
				return
			}
		}
	}()
	var eof error
	return func(prompt string) (string, error) {
			if eof != nil {
				return "", eof
			}
			if s.Interactive {
				s.Poster.Prompt(prompt)
			}
			select {
			case want <- struct{}{}:
			case <-ctx.Done():
				return "", ctx.Err()
			}
			select {
			case r := <-lines:
				if r.err != nil {
					eof = r.err
				}
				return r.line, r.err
			case <-ctx.Done():
				return "", ctx.Err()
			}
		}, func() {
			close(done)
		}
}
