/* store/schema.c — versioned schema migrations, applied in order inside one transaction each. */
#include <stddef.h>

#include "store/schema.h"

/* Each entry moves the schema from version i to i+1. Never edit a released entry: add a new one,
 * since databases in the field have already run the old ones. */
static const char *const migrations[] = {
    /* 1: images, their layers, tags and the blobs they keep alive. */
    "CREATE TABLE images ("
    "  id TEXT PRIMARY KEY,"              /* config digest, sha256:... */
    "  manifest_digest TEXT NOT NULL,"    /* the platform manifest we resolved */
    "  manifest_media_type TEXT NOT NULL,"
    "  created TEXT,"                     /* the config's RFC 3339 creation time */
    "  size INTEGER NOT NULL DEFAULT 0,"  /* unpacked size of all layers */
    "  os TEXT, architecture TEXT, variant TEXT,"
    "  added INTEGER NOT NULL"            /* when it entered this store, unix seconds */
    ");"
    "CREATE TABLE layers ("
    "  chain_id TEXT PRIMARY KEY,"
    "  diff_id TEXT NOT NULL,"
    "  parent TEXT,"
    "  blob_digest TEXT,"
    "  blob_media_type TEXT,"
    "  blob_size INTEGER,"
    "  size INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE image_layers ("
    "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    "  position INTEGER NOT NULL,"
    "  chain_id TEXT NOT NULL REFERENCES layers(chain_id),"
    "  PRIMARY KEY (image_id, position)"
    ");"
    "CREATE INDEX image_layers_chain ON image_layers(chain_id);"
    "CREATE TABLE tags ("
    "  name TEXT PRIMARY KEY,"            /* normalised reference, docker.io/library/busybox:latest */
    "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE"
    ");"
    "CREATE INDEX tags_image ON tags(image_id);"
    "CREATE TABLE repo_digests ("
    "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"               /* docker.io/library/busybox@sha256:... */
    "  PRIMARY KEY (image_id, name)"
    ");"
    "CREATE TABLE image_blobs ("
    "  image_id TEXT NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
    "  digest TEXT NOT NULL,"
    "  PRIMARY KEY (image_id, digest)"
    ");"
    "CREATE INDEX image_blobs_digest ON image_blobs(digest);",
    /* 2: containers. No foreign key to images: `rmi -f` may untag an image a container still uses,
     * and the in-use hook, not the schema, keeps its layers alive. Times are unix nanoseconds. */
    "CREATE TABLE containers ("
    "  id TEXT PRIMARY KEY,"              /* 64 hex */
    "  name TEXT NOT NULL UNIQUE,"        /* without the leading '/' */
    "  image_id TEXT NOT NULL,"
    "  image_ref TEXT,"                   /* as the user named the image */
    "  created INTEGER NOT NULL,"
    "  config TEXT NOT NULL,"             /* {"Config": {...}, "HostConfig": {...}} */
    "  state TEXT NOT NULL DEFAULT 'created',"
    "  pid INTEGER NOT NULL DEFAULT 0,"
    "  monitor_pid INTEGER NOT NULL DEFAULT 0,"
    "  exit_code INTEGER NOT NULL DEFAULT 0,"
    "  started_at INTEGER NOT NULL DEFAULT 0,"
    "  finished_at INTEGER NOT NULL DEFAULT 0,"
    "  restart_count INTEGER NOT NULL DEFAULT 0,"
    "  health TEXT,"
    "  oom_killed INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE INDEX containers_image ON containers(image_id);",
    /* 3: the registry server (`servin registry start`). Its blobs and manifests are files of the
     * content store, so a registry sharing its root with the image store keeps one copy of each;
     * these rows say which repository holds what. Repository names are validated text, never paths. */
    "CREATE TABLE registry_blobs ("
    "  repo TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  PRIMARY KEY (repo, digest)"
    ");"
    "CREATE INDEX registry_blobs_digest ON registry_blobs(digest);"
    "CREATE TABLE registry_manifests ("
    "  repo TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  media_type TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  subject TEXT,"                     /* the digest the manifest refers to (referrers API) */
    "  artifact_type TEXT,"
    "  annotations TEXT,"                 /* JSON object, for referrers descriptors */
    "  PRIMARY KEY (repo, digest)"
    ");"
    "CREATE INDEX registry_manifests_digest ON registry_manifests(digest);"
    "CREATE INDEX registry_manifests_subject ON registry_manifests(repo, subject);"
    "CREATE TABLE registry_manifest_refs ("  /* what a manifest names: config, layers, child manifests */
    "  repo TEXT NOT NULL,"
    "  manifest TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  PRIMARY KEY (repo, manifest, digest)"
    ");"
    "CREATE INDEX registry_manifest_refs_digest ON registry_manifest_refs(digest);"
    "CREATE TABLE registry_tags ("
    "  repo TEXT NOT NULL,"
    "  tag TEXT NOT NULL,"
    "  digest TEXT NOT NULL,"
    "  PRIMARY KEY (repo, tag)"
    ");",
    /* 4: volumes, and which containers mount them. A link keeps its volume (no ON DELETE on the
     * volume side, so the database itself refuses to drop a volume in use); removing a container
     * drops only its links. */
    "CREATE TABLE volumes ("
    "  name TEXT PRIMARY KEY,"
    "  driver TEXT NOT NULL DEFAULT 'local',"
    "  created INTEGER NOT NULL,"          /* unix nanoseconds */
    "  labels TEXT NOT NULL DEFAULT '{}',"  /* JSON object */
    "  options TEXT NOT NULL DEFAULT '{}'," /* JSON object: type, device, o */
    "  anonymous INTEGER NOT NULL DEFAULT 0"
    ");"
    "CREATE TABLE container_volumes ("
    "  container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,"
    "  volume TEXT NOT NULL REFERENCES volumes(name),"
    "  PRIMARY KEY (container_id, volume)"
    ");"
    "CREATE INDEX container_volumes_volume ON container_volumes(volume);",
    /* 5: networks, which containers are on them, and the addresses running containers hold. No
     * foreign key to containers: removal goes through servin_network_container_removed, and the
     * orphan cleanup catches what a crash left. */
    "CREATE TABLE networks ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  driver TEXT NOT NULL DEFAULT 'bridge',"
    "  bridge TEXT NOT NULL UNIQUE,"      /* host interface */
    "  subnet TEXT NOT NULL,"             /* IPv4 CIDR */
    "  gateway TEXT NOT NULL,"
    "  ip_range TEXT,"
    "  internal INTEGER NOT NULL DEFAULT 0,"
    "  dns INTEGER NOT NULL DEFAULT 1,"
    "  labels TEXT NOT NULL DEFAULT '{}',"
    "  created INTEGER NOT NULL"          /* unix ns */
    ");"
    "CREATE TABLE network_attachments ("
    "  container_id TEXT NOT NULL,"
    "  network_id TEXT NOT NULL REFERENCES networks(id),"
    "  position INTEGER NOT NULL,"        /* eth<position> */
    "  aliases TEXT NOT NULL DEFAULT '[]',"
    "  requested_ip TEXT,"
    "  PRIMARY KEY (container_id, network_id)"
    ");"
    "CREATE INDEX network_attachments_network ON network_attachments(network_id);"
    "CREATE TABLE network_leases ("
    "  network_id TEXT NOT NULL REFERENCES networks(id),"
    "  ip TEXT NOT NULL,"
    "  container_id TEXT NOT NULL,"
    "  mac TEXT,"
    "  ports TEXT NOT NULL DEFAULT '[]'," /* [{host_ip, host_port, container_port, protocol}] */
    "  PRIMARY KEY (network_id, ip)"
    ");"
    "CREATE INDEX network_leases_container ON network_leases(container_id);",
    /* 6: pod sandboxes (CRI). The request's settings, and what running the pod produced: pinned
     * namespace paths, addresses, the CNI network config and result that DEL needs, the cgroup. */
    "CREATE TABLE pods ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  namespace TEXT NOT NULL DEFAULT '',"
    "  uid TEXT NOT NULL DEFAULT '',"
    "  attempt INTEGER NOT NULL DEFAULT 0,"
    "  state TEXT NOT NULL DEFAULT 'notready',"  /* 'ready' | 'notready' */
    "  created INTEGER NOT NULL,"                  /* unix ns */
    "  labels TEXT NOT NULL DEFAULT '{}',"
    "  annotations TEXT NOT NULL DEFAULT '{}',"
    "  hostname TEXT NOT NULL DEFAULT '',"
    "  log_directory TEXT NOT NULL DEFAULT '',"
    "  runtime_handler TEXT NOT NULL DEFAULT '',"
    "  cgroup_parent TEXT NOT NULL DEFAULT '',"
    "  cgroup_path TEXT NOT NULL DEFAULT '',"
    "  cgroup TEXT,"                               /* servin_cgroup_to_json */
    "  cgroup_created INTEGER NOT NULL DEFAULT 0," /* removed with the pod only if we made it */
    "  dns TEXT NOT NULL DEFAULT '{}',"
    "  port_mappings TEXT NOT NULL DEFAULT '[]',"
    "  sysctls TEXT NOT NULL DEFAULT '{}',"
    "  ns_modes TEXT NOT NULL DEFAULT '{}',"      /* {"network", "pid", "ipc"} */
    "  netns_path TEXT NOT NULL DEFAULT '',"
    "  ipc_path TEXT NOT NULL DEFAULT '',"
    "  uts_path TEXT NOT NULL DEFAULT '',"
    "  ip TEXT NOT NULL DEFAULT '',"
    "  additional_ips TEXT NOT NULL DEFAULT '[]',"
    "  cni_net TEXT,"                              /* the network config ADD ran */
    "  cni_result TEXT,"                           /* what ADD returned: DEL's prevResult */
    "  config TEXT NOT NULL DEFAULT '{}',"
    "  UNIQUE (name, namespace, uid, attempt)"
    ");",
};

int servin_schema_count(void)
{
    return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

const char *servin_schema_migration(int from_version)
{
    if (from_version < 0 || from_version >= servin_schema_count())
        return NULL;
    return migrations[from_version];
}
