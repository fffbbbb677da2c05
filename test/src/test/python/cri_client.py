#!/usr/bin/python3
"""Independent CRI client for testing singlepull, written against the proto only.

Stubs are generated from api.proto at run time, so this client shares no code
with the Java server. Run with Debian's interpreter (python3-grpcio and
python3-grpc-tools):

    /usr/bin/python3 cri_client.py --socket /run/singlepull.sock COMMAND [args]

Every command prints one JSON document on stdout. Exit status: 0 on success,
3 on a gRPC error (stdout then holds {"error_code": ..., "message": ...}),
2 on a usage error or when the stubs cannot be generated.
"""
import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile

DEFAULT_PROTO_DIR = os.path.normpath(os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "api", "src", "main", "proto"))


def load_stubs(proto_dir):
    """Generate runtime/v1 Python modules into a temp dir and import them."""
    with tempfile.TemporaryDirectory(prefix="cri_client_") as out:
        cmd = [sys.executable, "-m", "grpc_tools.protoc", "-I" + proto_dir,
               "--python_out=" + out, "--grpc_python_out=" + out, "runtime/v1/api.proto"]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            sys.stderr.write("protoc failed:\n" + res.stderr)
            sys.exit(2)
        sys.path.insert(0, out)
        try:  # both modules are fully loaded before the directory goes away
            return (importlib.import_module("runtime.v1.api_pb2"),
                    importlib.import_module("runtime.v1.api_pb2_grpc"))
        finally:
            sys.path.remove(out)


def wrapped(msg, field):
    """Value of an Int64Value/UInt64Value field, or None when unset."""
    return getattr(msg, field).value if msg.HasField(field) else None


def image_dict(img):
    return {
        "id": img.id,
        "repo_tags": list(img.repo_tags),
        "repo_digests": list(img.repo_digests),
        "size": img.size,
        "uid": wrapped(img, "uid"),
        "username": img.username,
    }


def fs_dict(fs):
    return {
        "mountpoint": fs.fs_id.mountpoint,
        "used_bytes": wrapped(fs, "used_bytes"),
        "inodes_used": wrapped(fs, "inodes_used"),
        "timestamp": fs.timestamp,
    }


def run(args, pb, pb_grpc, channel):
    runtime = pb_grpc.RuntimeServiceStub(channel)
    images = pb_grpc.ImageServiceStub(channel)
    t = args.timeout
    if args.command == "version":
        r = runtime.Version(pb.VersionRequest(version="v1"), timeout=t)
        return {"runtime_name": r.runtime_name, "runtime_version": r.runtime_version,
                "runtime_api_version": r.runtime_api_version, "version": r.version}
    if args.command == "pull":
        req = pb.PullImageRequest(image=pb.ImageSpec(image=args.image))
        if args.user is not None or args.password is not None:
            req.auth.username = args.user or ""
            req.auth.password = args.password or ""
        return {"image_ref": images.PullImage(req, timeout=t).image_ref}
    if args.command == "images":
        r = images.ListImages(pb.ListImagesRequest(), timeout=t)
        return [image_dict(i) for i in r.images]
    if args.command == "status":
        r = images.ImageStatus(pb.ImageStatusRequest(
            image=pb.ImageSpec(image=args.image), verbose=args.verbose), timeout=t)
        return {"image": image_dict(r.image) if r.HasField("image") else None,
                "info": dict(r.info)}
    if args.command == "rmi":
        images.RemoveImage(pb.RemoveImageRequest(image=pb.ImageSpec(image=args.image)), timeout=t)
        return {}
    if args.command == "fsinfo":
        r = images.ImageFsInfo(pb.ImageFsInfoRequest(), timeout=t)
        return {"image_filesystems": [fs_dict(f) for f in r.image_filesystems],
                "container_filesystems": [fs_dict(f) for f in r.container_filesystems]}
    raise AssertionError(args.command)


def parse_args(argv):
    p = argparse.ArgumentParser(description="Minimal CRI ImageService client (JSON output).")
    p.add_argument("--socket", required=True, help="path of the server's unix socket")
    p.add_argument("--proto-dir", default=DEFAULT_PROTO_DIR,
                   help="directory containing runtime/v1/api.proto (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=600.0, help="per-call deadline in seconds")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("version", help="RuntimeService.Version")
    pull = sub.add_parser("pull", help="ImageService.PullImage")
    pull.add_argument("image")
    pull.add_argument("--user")
    pull.add_argument("--password")
    sub.add_parser("images", help="ImageService.ListImages")
    status = sub.add_parser("status", help="ImageService.ImageStatus")
    status.add_argument("image")
    status.add_argument("--verbose", action="store_true")
    rmi = sub.add_parser("rmi", help="ImageService.RemoveImage")
    rmi.add_argument("image")
    sub.add_parser("fsinfo", help="ImageService.ImageFsInfo")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    import grpc  # imported after argument parsing so --help works without grpc
    pb, pb_grpc = load_stubs(args.proto_dir)
    target = "unix://" + os.path.abspath(args.socket)  # -> unix:///abs/path
    with grpc.insecure_channel(target) as channel:
        try:
            result = run(args, pb, pb_grpc, channel)
        except grpc.RpcError as e:
            print(json.dumps({"error_code": e.code().name, "message": e.details()}))
            return 3
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
