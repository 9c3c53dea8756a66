package command

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"
)

// CLIState is what the CLI remembers per socket between runs (cli.md
// §6.2): what notices and warnings were last listed and acknowledged.
type CLIState struct {
	NoticesLastListed  time.Time `json:"notices-last-listed"`
	NoticesLastOkayed  time.Time `json:"notices-last-okayed"`
	WarningsLastListed time.Time `json:"warnings-last-listed"`
	WarningsLastOkayed time.Time `json:"warnings-last-okayed"`
}

// cliStatePath is $XDG_CONFIG_HOME/pebble/cli.json (default
// ~/.config/pebble/cli.json).
func (e *Env) cliStatePath() string {
	dir := e.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		dir = filepath.Join(e.Getenv("HOME"), ".config")
	}
	return filepath.Join(dir, "pebble", "cli.json")
}

// cliStateFile is the whole file: states keyed by socket path, under
// "pebble". Other keys are kept as they are.
type cliStateFile map[string]json.RawMessage

// loadCLIState returns this socket's state (zero if there is none).
func (e *Env) LoadCLIState() (CLIState, error) {
	var st CLIState
	file, err := e.readCLIStateFile()
	if err != nil {
		return st, err
	}
	var bySocket map[string]CLIState
	if raw := file["pebble"]; raw != nil {
		if err := json.Unmarshal(raw, &bySocket); err != nil {
			return st, errors.New("cannot parse CLI state: " + err.Error())
		}
	}
	return bySocket[e.Socket], nil
}

func (e *Env) readCLIStateFile() (cliStateFile, error) {
	data, err := os.ReadFile(e.cliStatePath())
	if errors.Is(err, os.ErrNotExist) {
		return cliStateFile{}, nil
	}
	if err != nil {
		return nil, err
	}
	var file cliStateFile
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, errors.New("cannot parse CLI state: " + err.Error())
	}
	if file == nil {
		file = cliStateFile{}
	}
	return file, nil
}

// updateCLIState applies update to this socket's state and saves the file
// atomically (directory 0700, file 0600).
func (e *Env) UpdateCLIState(update func(*CLIState)) error {
	file, err := e.readCLIStateFile()
	if err != nil {
		return err
	}
	bySocket := map[string]CLIState{}
	if raw := file["pebble"]; raw != nil {
		if err := json.Unmarshal(raw, &bySocket); err != nil {
			return errors.New("cannot parse CLI state: " + err.Error())
		}
	}
	st := bySocket[e.Socket]
	update(&st)
	bySocket[e.Socket] = st
	raw, err := json.Marshal(bySocket)
	if err != nil {
		return err
	}
	file["pebble"] = raw
	data, err := json.Marshal(file)
	if err != nil {
		return err
	}
	path := e.cliStatePath()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cli.json.*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
