package web

import (
	"cmp"
	"context"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/outcome"
	"github.com/crmsync/crmsync/store"
	"github.com/crmsync/crmsync/workers"
)

// recentPasses is how many of the latest passes the rules page shows.
const recentPasses = 10

// RulesData gives the configured rules with their outcomes, and the
// reports of the latest passes, for the rules page.
type RulesData interface {
	// RuleOutcomes returns every configured rule, in config order, with
	// its closed outcomes.
	RuleOutcomes(ctx context.Context) ([]RuleOutcomes, error)
	// RecentPasses returns the reports of the last n passes, newest first.
	RecentPasses(ctx context.Context, n int) ([]*workers.Report, error)
}

// RuleOutcomes is a rule as configured and its closed outcomes by group.
type RuleOutcomes struct {
	Name, When, Severity string
	Cooldown             time.Duration
	// Holdout is the share of the flagged accounts left without message.
	Holdout       float64
	OutcomeWindow time.Duration
	Stats         store.OutcomeStats
}

// rulesView is the rules page's data.
type rulesView struct {
	Rules  []ruleView
	Passes []*workers.Report
	// Channels are the channels any of the passes used, sorted.
	Channels []notify.Channel
}

// ruleView is one rule on the page: its settings, its last passes and
// what its messages changed.
type ruleView struct {
	RuleOutcomes
	Passes []rulePass
	Uplift outcome.Uplift
	// Verdict says in words what the outcomes show.
	Verdict string
	// Measured is set when both groups have closed outcomes.
	Measured bool
}

// rulePass is what one pass did with a rule.
type rulePass struct {
	Pass     string
	Now      time.Time
	Flagged  int
	Resolved int
	Messages []int // per channel of rulesView.Channels
	HeldBack []reasonCount
}

type reasonCount struct {
	Reason string
	Count  int
}

// rules serves the rules page: per rule, its last passes and outcomes.
func (s *Server) rules(w http.ResponseWriter, r *http.Request) {
	ros, err := s.data.RuleOutcomes(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	passes, err := s.data.RecentPasses(r.Context(), recentPasses)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "rules", page{Title: "Rules and outcomes", Nav: "rules", Data: rulesViewOf(ros, passes)})
}

// rulesViewOf builds the rules page of ros over passes.
func rulesViewOf(ros []RuleOutcomes, passes []*workers.Report) rulesView {
	v := rulesView{Passes: passes}
	chans := map[notify.Channel]bool{}
	for _, p := range passes {
		for _, byCh := range p.Messages {
			for ch := range byCh {
				chans[ch] = true
			}
		}
		for ch := range p.Enqueued {
			chans[ch] = true
		}
		for ch := range p.Deferred {
			chans[ch] = true
		}
	}
	v.Channels = slices.Sorted(maps.Keys(chans))
	for _, ro := range ros {
		rv := ruleView{RuleOutcomes: ro}
		for _, p := range passes {
			rv.Passes = append(rv.Passes, rulePassOf(p, ro.Name, v.Channels))
		}
		rv.Uplift, rv.Measured, rv.Verdict = verdict(ro)
		v.Rules = append(v.Rules, rv)
	}
	return v
}

// rulePassOf is what pass p did with rule, its messages by channel.
func rulePassOf(p *workers.Report, rule string, chans []notify.Channel) rulePass {
	rp := rulePass{Pass: p.Pass, Now: p.Now, Flagged: p.Flags[rule], Resolved: p.Resolved[rule]}
	for _, ch := range chans {
		rp.Messages = append(rp.Messages, p.Messages[rule][ch])
	}
	for reason, n := range p.Skipped[rule] {
		rp.HeldBack = append(rp.HeldBack, reasonCount{reason, n})
	}
	slices.SortFunc(rp.HeldBack, func(a, b reasonCount) int {
		return cmp.Or(b.Count-a.Count, cmp.Compare(a.Reason, b.Reason))
	})
	return rp
}

// minOutcomes is the number of closed outcomes in each group below which
// the page says there is not enough data to conclude.
const minOutcomes = 30

// verdict compares the re-engagement of the messaged accounts with that
// of the holdout (Wilson intervals, Newcombe's interval of the uplift),
// and says plainly what can be concluded.
func verdict(ro RuleOutcomes) (u outcome.Uplift, measured bool, say string) {
	st := ro.Stats
	u = outcome.Compare(st.MessagedReengaged, st.Messaged, st.HoldoutReengaged, st.Holdout)
	measured = st.Messaged > 0 && st.Holdout > 0
	switch {
	case ro.Holdout == 0 && st.Holdout == 0:
		return u, measured, "No holdout: every flagged account is messaged, so there is nothing to compare with. Set holdout: 10% on the rule to measure what its messages change."
	case !measured:
		return u, measured, "Not enough data yet: no closed outcome in one of the groups (outcomes close at the end of the outcome window)."
	case st.Messaged < minOutcomes || st.Holdout < minOutcomes:
		return u, measured, "Not enough data to conclude: fewer than 30 closed outcomes in a group, the interval is wide."
	case u.Significant && u.Value > 0:
		return u, measured, "The messages help: the 95% interval of the uplift is above 0."
	case u.Significant:
		return u, measured, "The messages do worse than none: the 95% interval of the uplift is below 0."
	}
	return u, measured, "No measurable effect so far: the 95% interval of the uplift includes 0."
}
