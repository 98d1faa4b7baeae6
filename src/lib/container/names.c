/* container/names.c — generated "adjective_noun" container names. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/random.h>

#include "servin/cleanup.h"
#include "servin/container.h"

/* Our own lists: gentle adjectives and things found outdoors. 60 x 60 names is plenty for one
 * host, and create_record retries when a name is taken. */
static const char *const adjectives[] = {
    "amber",    "ancient",  "autumn",   "bold",     "brave",    "breezy",  "bright", "calm",    "candid",
    "careful",  "cheerful", "clever",   "cosmic",   "crisp",    "curious", "dapper", "daring",  "deft",
    "eager",    "earnest",  "electric", "fearless", "festive",  "fluffy",  "frosty", "gallant", "gentle",
    "gleaming", "golden",   "happy",    "hidden",   "humble",   "jolly",   "keen",   "kind",    "lively",
    "lucky",    "mellow",   "merry",    "mighty",   "misty",    "nimble",  "noble",  "patient", "placid",
    "plucky",   "proud",    "quiet",    "rapid",    "restless", "rustic",  "serene", "silent",  "snowy",
    "spry",     "steady",   "sunny",    "swift",    "tender",   "vivid",
};

static const char *const nouns[] = {
    "acorn",   "alder",  "badger", "beacon", "birch",   "boulder", "brook",   "canyon",  "cedar",
    "comet",   "coral",  "crane",  "creek",  "delta",   "dune",    "falcon",  "fern",    "fjord",
    "glacier", "grove",  "harbor", "hazel",  "heron",   "island",  "juniper", "kestrel", "lagoon",
    "lantern", "larch",  "lynx",   "maple",  "marmot",  "meadow",  "meteor",  "moss",    "nebula",
    "orchid",  "otter",  "owl",    "pebble", "pine",    "plover",  "prairie", "quartz",  "raven",
    "reef",    "ridge",  "river",  "robin",  "sequoia", "sparrow", "spruce",  "summit",  "thicket",
    "tundra",  "valley", "walrus", "willow", "wren",    "yarrow",
};

static uint32_t random_u32(void)
{
    uint32_t v = 0;
    size_t got = 0;
    while (got < sizeof(v)) {
        ssize_t r = getrandom((char *)&v + got, sizeof(v) - got, 0);
        if (r > 0)
            got += (size_t)r;
        else if (errno != EINTR)
            abort(); /* The kernel's random source does not fail once booted. */
    }
    return v;
}

char *servin_container_random_name(void)
{
    size_t na = sizeof(adjectives) / sizeof(adjectives[0]);
    size_t nn = sizeof(nouns) / sizeof(nouns[0]);
    uint32_t r = random_u32();
    return xasprintf("%s_%s", adjectives[r % na], nouns[(r / na) % nn]);
}
