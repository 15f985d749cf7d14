package store

import "hash/maphash"

// knownIDs remembers, approximately, the bundle ids and pointer fields a
// sync has planned to write: a Bloom filter whose every id sets up to four
// bits of one 64-bit word, so that adding or asking costs one memory
// access. It never forgets an id added. Of the ids never added it claims
// about one in a hundred once a level holds one id per knownBitsPerID
// bits (fewer before), and a level twice the size starts then; an id
// claimed falsely only costs a read.
//
// A knownIDs is not safe for concurrent use.
type knownIDs struct {
	seed   maphash.Seed
	levels [][]uint64 // the last one takes the ids added
	n      int        // ids added to the last level
}

// knownLevelWords is the size of a knownIDs' first level: 16 MiB, which
// the operating system backs only as ids land in it (a few KiB for a
// small sync), and which holds the 6.7 million accounts, contacts and
// deals of a million-account portfolio at about 20 bits each.
const knownLevelWords = 1 << 21

// knownBitsPerID is the fill at which a level is full.
const knownBitsPerID = 16

// newKnownIDs returns an empty knownIDs whose first level has words
// 64-bit words (a power of two).
func newKnownIDs(words int) *knownIDs {
	return &knownIDs{seed: maphash.MakeSeed(), levels: [][]uint64{make([]uint64, words)}}
}

// add remembers id.
func (k *knownIDs) add(id string) {
	last := k.levels[len(k.levels)-1]
	if k.n >= len(last)*64/knownBitsPerID {
		last = make([]uint64, 2*len(last))
		k.levels = append(k.levels, last)
		k.n = 0
	}
	h, line := k.hash(id)
	last[knownWord(h, line, len(last))] |= knownMask(h)
	k.n++
}

// has reports whether id may have been added: always for one that was.
func (k *knownIDs) has(id string) bool {
	h, line := k.hash(id)
	m := knownMask(h)
	for _, l := range k.levels {
		if l[knownWord(h, line, len(l))]&m == m {
			return true
		}
	}
	return false
}

// hash returns the hash of id and of its prefix (all but its last
// byte), which picks the 64-byte line of its word (knownWord), so that
// consecutive ids (most CRMs number their records), which a page asks
// about one after the other, share a line in the CPU's caches.
func (k *knownIDs) hash(id string) (h, line uint64) {
	h = maphash.String(k.seed, id)
	if len(id) < 2 {
		return h, h
	}
	return h, maphash.String(k.seed, id[:len(id)-1])
}

// knownWord is the word of a level of n words (a power of two, at least
// 8) for an id of hash h whose prefix hashes to line: h picks the word
// of the line.
func knownWord(h, line uint64, n int) int { return int(line*8&uint64(n-1) | h&7) }

// knownMask is the bits of a word that the hash h sets: four, from its
// upper 24 bits, apart from the lower bits that choose the word.
func knownMask(h uint64) uint64 {
	return 1<<(h>>58) | 1<<(h>>52&63) | 1<<(h>>46&63) | 1<<(h>>40&63)
}
