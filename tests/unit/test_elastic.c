/*
 * The elastic pool's decision as a pure function of fill levels, busy
 * fractions, losses and a clock the test sets: it grows when a ring fills,
 * a worker is busy or the kernel drops; never past the ceiling; retires the
 * newest worker only after a quiet spell without a break; never below one;
 * settles after each change; and the grow and quiet thresholds leave a band
 * between them where nothing changes (hysteresis).
 */
#include "workers/workers.h"
#include "unit.h"

#define S (1000ull * 1000 * 1000)

static struct elastic_policy pol(unsigned max)
{
	struct elastic_policy p;

	elastic_policy_default(&p, max);
	return p;
}

static void test_grows_on_fill_busy_or_loss(void)
{
	struct elastic_policy p = pol(4);
	struct elastic_sample s[2] = { { 5, 10, false }, { 0, 0, false } };
	unsigned why = 99;

	struct elastic_state st = { 0 };
	CHECK_EQ(elastic_decide(&p, &st, s, 1, 1 * S, &why), ELASTIC_KEEP);
	s[0].fill_pct = 50; /* half full */
	CHECK_EQ(elastic_decide(&p, &st, s, 1, 2 * S, &why), ELASTIC_GROW);
	CHECK_EQ(why, 0);

	st = (struct elastic_state){ 0 };
	s[0] = (struct elastic_sample){ 0, 80, false }; /* busy */
	CHECK_EQ(elastic_decide(&p, &st, s, 1, 1 * S, &why), ELASTIC_GROW);

	st = (struct elastic_state){ 0 };
	s[0] = (struct elastic_sample){ 0, 0, false };
	s[1] = (struct elastic_sample){ 0, 0, true }; /* the second one drops */
	CHECK_EQ(elastic_decide(&p, &st, s, 2, 1 * S, &why), ELASTIC_GROW);
	CHECK_EQ(why, 1);
}

static void test_never_past_ceiling(void)
{
	struct elastic_policy p = pol(2);
	struct elastic_sample s[2] = { { 100, 100, true }, { 100, 100, true } };
	struct elastic_state st = { 0 };
	unsigned why;

	CHECK_EQ(elastic_decide(&p, &st, s, 2, 10 * S, &why), ELASTIC_KEEP);
	p = pol(1); /* -T 1: one worker, whatever happens */
	CHECK_EQ(elastic_decide(&p, &st, s, 1, 20 * S, &why), ELASTIC_KEEP);
}

static void test_settles_after_change(void)
{
	struct elastic_policy p = pol(4);
	struct elastic_sample s[3] = { { 90, 0, false }, { 90, 0, false }, { 90, 0, false } };
	struct elastic_state st = { 0 };
	unsigned why;

	CHECK_EQ(elastic_decide(&p, &st, s, 1, 100 * S, &why), ELASTIC_GROW);
	/* still full a moment later: the flows have not moved yet */
	CHECK_EQ(elastic_decide(&p, &st, s, 2, 100 * S + S, &why), ELASTIC_KEEP);
	CHECK_EQ(elastic_decide(&p, &st, s, 2, 100 * S + p.settle_ns, &why), ELASTIC_GROW);
}

static void test_shrinks_after_quiet_never_below_one(void)
{
	struct elastic_policy p = pol(4);
	struct elastic_sample s[3] = { { 0, 10, false }, { 5, 10, false }, { 0, 5, false } };
	struct elastic_state st = { 0 };
	uint64_t t = 1000 * S;
	unsigned why = 99;

	CHECK_EQ(elastic_decide(&p, &st, s, 3, t, &why), ELASTIC_KEEP); /* quiet starts */
	CHECK_EQ(elastic_decide(&p, &st, s, 3, t + p.quiet_ns - 1, &why), ELASTIC_KEEP);
	CHECK_EQ(elastic_decide(&p, &st, s, 3, t + p.quiet_ns, &why), ELASTIC_SHRINK);
	CHECK_EQ(why, 2); /* the newest goes */
	/* the next shrink needs a fresh quiet spell, after the settling */
	t += p.quiet_ns;
	CHECK_EQ(elastic_decide(&p, &st, s, 2, t + p.settle_ns, &why), ELASTIC_KEEP);
	CHECK_EQ(elastic_decide(&p, &st, s, 2, t + p.settle_ns + p.quiet_ns - 1, &why),
		 ELASTIC_KEEP);
	CHECK_EQ(elastic_decide(&p, &st, s, 2, t + p.settle_ns + p.quiet_ns, &why),
		 ELASTIC_SHRINK);
	/* one worker stays, however quiet (an idle one too) */
	t += p.settle_ns + p.quiet_ns;
	s[0] = (struct elastic_sample){ 0, 0, false };
	for (unsigned k = 1; k < 10; k++)
		CHECK_EQ(elastic_decide(&p, &st, s, 1, t + k * p.quiet_ns, &why), ELASTIC_KEEP);
}

static void test_quiet_broken_restarts(void)
{
	struct elastic_policy p = pol(4);
	struct elastic_sample s[2] = { { 0, 0, false }, { 0, 0, false } };
	struct elastic_state st = { 0 };
	uint64_t t = 1000 * S;
	unsigned why;

	CHECK_EQ(elastic_decide(&p, &st, s, 2, t, &why), ELASTIC_KEEP);
	s[1].fill_pct = 20; /* not pressure, but not quiet either */
	CHECK_EQ(elastic_decide(&p, &st, s, 2, t + p.quiet_ns / 2, &why), ELASTIC_KEEP);
	s[1].fill_pct = 0;
	CHECK_EQ(elastic_decide(&p, &st, s, 2, t + p.quiet_ns / 2 + 1, &why), ELASTIC_KEEP);
	/* the first spell would be long enough by now; the second is not */
	CHECK_EQ(elastic_decide(&p, &st, s, 2, t + p.quiet_ns + 1, &why), ELASTIC_KEEP);
	CHECK_EQ(elastic_decide(&p, &st, s, 2, t + p.quiet_ns / 2 + 1 + p.quiet_ns, &why),
		 ELASTIC_SHRINK);
}

/* Between the thresholds nothing changes, however long: a load that needs
 * two workers at 30% each keeps two (one would be at 60%). */
static void test_hysteresis_band(void)
{
	struct elastic_policy p = pol(4);
	struct elastic_sample s[2] = { { 20, 30, false }, { 20, 30, false } };
	struct elastic_state st = { 0 };
	unsigned why;

	for (uint64_t t = 0; t < 10 * p.quiet_ns; t += S)
		CHECK_EQ(elastic_decide(&p, &st, s, 2, 1000 * S + t, &why), ELASTIC_KEEP);
	s[0].fill_pct = s[1].fill_pct = 0; /* rings empty, but together 60% busy: > 40% of one */
	for (uint64_t t = 0; t < 10 * p.quiet_ns; t += S)
		CHECK_EQ(elastic_decide(&p, &st, s, 2, 2000 * S + t, &why), ELASTIC_KEEP);
}

int main(void)
{
	test_grows_on_fill_busy_or_loss();
	test_never_past_ceiling();
	test_settles_after_change();
	test_shrinks_after_quiet_never_below_one();
	test_quiet_broken_restarts();
	test_hysteresis_band();
	return unit_exit("test_elastic");
}
