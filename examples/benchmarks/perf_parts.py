"""Group `perf report --no-children --sort symbol` output (saved to a file) into the parts of spikeem's
run loop, as fractions of the samples that fall in simulation symbols (building, output and kernel
time are left out).  Used for "Where the time goes" in README.md:

    perf record -e cpu-clock -F 5000 -o perf.data ./build-prof/spikeem bench cuba_delta --duration-ms 10000 -q
    perf report -i perf.data --no-children --sort symbol > perf.txt
    /usr/bin/python3 examples/benchmarks/perf_parts.py perf.txt

libm's exp and log are a part of their own: perf without call graphs cannot say who called them.  In
cuba_delta ~95 % of their instructions come from crossing prediction (callgrind), the rest is the one
exp per delivered block; in brunel_plastic they come from STDP trace decays and Poisson draws.
"""
import re
import sys

for f in sys.argv[1:]:
    rows=[]
    for l in open(f):
        m=re.match(r'\s*([\d.]+)%\s+\[(.)\]\s+(\S+)',l)
        if m: rows.append((float(m.group(1)),m.group(2),m.group(3)))
    def cat(n):
        if 'LifDeltaPopulation::deliver' in n or 'LifExpPopulation::deliver' in n: return 'delivery loop (deliver)'
        if any(k in n for k in ('LifDeltaPopulation::sweep', 'LifExpPopulation::sweep', 'LifExpPopulation::bound_window')):
            return 'window sweeps (lif_exp: with its bounds)'
        if any(k in n for k in ('schedule_crossing', 'LifDeltaPopulation::on_event', 'LifDeltaPopulation::candidate',
                                'crossing_after', 'predict_crossing', 'after_input', 'consider', 'set_pending',
                                'ExpCrossing', 'LifExpPopulation::predict', 'LifExpPopulation::on_event',
                                'chord_bound', 'revalidate', 'LifExpPopulation::decay', 'unclamp')):
            return 'crossing prediction (without libm)'
        if re.match(r'(__ieee754_)?(exp|log|log1p)(_fma)?(@@GLIBC.*|@plt)?$', n) or n in ('@plt', '__llround'):
            return 'libm exp, log (+ plt stubs)'
        if 'schedule_own' in n or 'OwnEvents' in n: return 'own-event queue (calendar)'
        if 'DelayLanes' in n: return 'delay lanes (push, merge)'
        if 'run_until' in n: return 'run loop (pops of the heap and lanes, merge)'
        if n in ('spikeem::Simulation::schedule', 'spikeem::Partition::schedule'): return 'queue push (schedule)'
        if 'DriveCalendar' in n: return 'drive calendar (advance)'
        if 'PoissonInput' in n or n == 'spikeem::Partition::prefetch': return 'Poisson inputs (fire, prefetch)'
        if 'Population::spike' in n or 'emit_spike' in n: return 'spike emission'
        if 'Simulation::handle' in n or 'Partition::handle' in n: return 'dispatch'
        if 'PlasticSynapses' in n or 'Projection::pre_arrival' in n or 'Projection::post_arrival' in n: return 'plasticity (on_pre, on_post)'
        if 'PoissonPopulation' in n or 'philox' in n.lower() or 'RandomStream' in n: return 'Poisson sources (draws)'
        return None
    tot={}
    for p,k,n in rows:
        if k!='.': continue
        c=cat(n)
        if c: tot[c]=tot.get(c,0)+p
    S=sum(tot.values()); print(f, 'simulation symbols: %.1f %% of samples' % S)
    for c, v in sorted(tot.items(), key=lambda x: -x[1]):
        print('   %-40s %5.1f %%' % (c, 100 * v / S))
