package console

import (
	"bufio"
	"context"
	"errors"
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
}

// Run reads commands until quit, end of input or ctx ends.
func (s *Shell) Run(ctx context.Context) error {
	next, closeIn := s.reader()
	defer closeIn()
	for ctx.Err() == nil {
		line, err := next("ops> ")
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, readline.ErrInterrupt) {
				return nil
			}
			return err
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
		answer, err := next("type yes to confirm: ")
		if err != nil {
			return
		}
		id := "cancel"
		if a := strings.ToLower(strings.TrimSpace(answer)); a == "yes" || a == "y" {
			id = "confirm"
		}
		out := s.Registry.Button(ctx, commands.Request{Platform: "console", User: s.User, UserName: s.User, Text: line, Local: true}, id, b.Value)
		s.Poster.Write(out.Message)
	}
}

func (s *Shell) reader() (func(string) (string, error), func()) {
	if s.Interactive {
		if f, ok := s.In.(*os.File); ok {
			rl, err := readline.NewEx(&readline.Config{Prompt: "ops> ", Stdin: f, Stdout: s.Poster.w, HistoryLimit: 500})
			if err == nil {
				return func(prompt string) (string, error) {
					rl.SetPrompt(prompt)
					return rl.Readline()
				}, func() { rl.Close() }
			}
		}
	}
	sc := bufio.NewScanner(s.In)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	return func(prompt string) (string, error) {
		if s.Interactive {
			s.Poster.Prompt(prompt)
		}
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return "", err
			}
			return "", io.EOF
		}
		return sc.Text(), nil
	}, func() {}
}
