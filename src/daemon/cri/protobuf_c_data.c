/* daemon/cri/protobuf_c_data.c — the one data object the protoc-c generated code takes from
 * libprotobuf-c. The library is loaded on first use (util/dl_stubs.S stands for its functions),
 * and a stub can stand for a function only: so the empty string the generated initialisers and
 * descriptors point at is ours. libprotobuf-c only compares string contents and the descriptors'
 * own default pointers, never its private copy, so the two copies do not meet. */
const char protobuf_c_empty_string[] = "";
