package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// DefaultPartSize is the size of the parts a snapshot is uploaded in when
// S3Options.PartSize is 0: a snapshot is streamed, one part in memory at a
// time. S3 requires at least 5 MiB per part but the last.
const DefaultPartSize = 16 << 20

// minPartSize is S3's smallest part but the last.
const minPartSize = 5 << 20

// S3Options tell where and how the S3 backend stores snapshots.
type S3Options struct {
	Bucket string
	// Prefix is prepended to every object name ("/" is added between).
	Prefix string
	// Region; empty means the standard AWS chain's, else us-east-1.
	Region string
	// Endpoint overrides the AWS endpoint (Ceph RGW, MinIO), e.g.
	// "http://rgw:8080".
	Endpoint string
	// PathStyle addresses the bucket in the path rather than the host
	// name, as MinIO and most Ceph setups need.
	PathStyle bool
	// AccessKeyID and SecretAccessKey are static credentials; when empty,
	// the standard AWS chain (environment, shared files, IRSA, instance
	// role) is used.
	AccessKeyID, SecretAccessKey string
	// PartSize is the multipart upload part size; 0 means DefaultPartSize.
	PartSize int
}

// S3 stores snapshots as objects in an S3-compatible bucket (AWS S3, Ceph
// RGW, MinIO). A snapshot is uploaded in parts and becomes visible only
// when the upload completes, so a crash leaves the previous ones intact.
type S3 struct {
	client *s3.Client
	opts   S3Options
	prefix string
}

// NewS3 returns an S3 backend. It does not contact the server.
func NewS3(ctx context.Context, opts S3Options) (*S3, error) {
	if opts.Bucket == "" {
		return nil, errors.New("s3: bucket is required")
	}
	if opts.PartSize == 0 {
		opts.PartSize = DefaultPartSize
	}
	if opts.PartSize < minPartSize {
		return nil, fmt.Errorf("s3: part size %d below the minimum of %d bytes", opts.PartSize, minPartSize)
	}
	var load []func(*awsconfig.LoadOptions) error
	if opts.Region != "" {
		load = append(load, awsconfig.WithRegion(opts.Region))
	}
	if opts.AccessKeyID != "" || opts.SecretAccessKey != "" {
		load = append(load, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, "")))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("s3: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = opts.PathStyle
		// Checksums only where S3 requires them: Ceph RGW and older MinIO
		// releases refuse the SDK's default trailing checksums. The
		// snapshot format carries its own.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	prefix := opts.Prefix
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &S3{client: client, opts: opts, prefix: prefix}, nil
}

// String describes the bucket and prefix.
func (b *S3) String() string { return "s3://" + b.opts.Bucket + "/" + b.prefix }

func (b *S3) key(name string) (*string, error) {
	if !isSnapshotName(name) {
		return nil, fmt.Errorf("invalid snapshot name %q", name)
	}
	return aws.String(b.prefix + name), nil
}

// Create implements Backend.
func (b *S3) Create(ctx context.Context, name string) (Upload, error) {
	key, err := b.key(name)
	if err != nil {
		return nil, err
	}
	return &s3Upload{b: b, ctx: ctx, key: key, buf: make([]byte, 0, b.opts.PartSize)}, nil
}

// Open implements Backend. The object is streamed, not read whole.
func (b *S3) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	key, err := b.key(name)
	if err != nil {
		return nil, err
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.opts.Bucket), Key: key})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", *key, err)
	}
	return out.Body, nil
}

// OpenHead implements headOpener: a ranged GET of the first n bytes, so
// that ordering snapshots by their headers downloads none of them.
func (b *S3) OpenHead(ctx context.Context, name string, n int) (io.ReadCloser, error) {
	key, err := b.key(name)
	if err != nil {
		return nil, err
	}
	out, err := b.client.GetObject(ctx, &s3.GetObjectInput{
		Bucket: aws.String(b.opts.Bucket), Key: key, Range: aws.String(fmt.Sprintf("bytes=0-%d", n-1)),
	})
	if err != nil {
		return nil, fmt.Errorf("get the head of %s: %w", *key, err)
	}
	return out.Body, nil
}

// List implements Backend.
func (b *S3) List(ctx context.Context) ([]string, error) {
	var names []string
	p := s3.NewListObjectsV2Paginator(b.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(b.opts.Bucket),
		Prefix: aws.String(b.prefix + namePrefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", b, err)
		}
		for _, obj := range page.Contents {
			name := strings.TrimPrefix(aws.ToString(obj.Key), b.prefix)
			if isSnapshotName(name) {
				names = append(names, name)
			}
		}
	}
	return names, nil
}

// Delete implements Backend.
func (b *S3) Delete(ctx context.Context, name string) error {
	key, err := b.key(name)
	if err != nil {
		return err
	}
	if _, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(b.opts.Bucket), Key: key}); err != nil {
		return fmt.Errorf("delete %s: %w", *key, err)
	}
	return nil
}

// s3Upload buffers one part at a time. A snapshot smaller than a part is
// written with one PutObject; a larger one as a multipart upload.
type s3Upload struct {
	b        *S3
	ctx      context.Context
	key      *string
	buf      []byte
	uploadID *string
	parts    []types.CompletedPart
	done     bool
	err      error
}

func (u *s3Upload) Write(p []byte) (int, error) {
	if u.err != nil {
		return 0, u.err
	}
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), u.b.opts.PartSize-len(u.buf))
		u.buf = append(u.buf, p[:k]...)
		p = p[k:]
		if len(u.buf) == u.b.opts.PartSize {
			if err := u.uploadPart(); err != nil {
				u.err = err
				return n - len(p), err
			}
		}
	}
	return n, nil
}

func (u *s3Upload) uploadPart() error {
	bucket := aws.String(u.b.opts.Bucket)
	if u.uploadID == nil {
		out, err := u.b.client.CreateMultipartUpload(u.ctx, &s3.CreateMultipartUploadInput{Bucket: bucket, Key: u.key})
		if err != nil {
			return fmt.Errorf("start multipart upload of %s: %w", *u.key, err)
		}
		u.uploadID = out.UploadId
	}
	num := aws.Int32(int32(len(u.parts) + 1))
	out, err := u.b.client.UploadPart(u.ctx, &s3.UploadPartInput{
		Bucket: bucket, Key: u.key, UploadId: u.uploadID, PartNumber: num,
		Body: bytes.NewReader(u.buf), ContentLength: aws.Int64(int64(len(u.buf))),
	})
	if err != nil {
		return fmt.Errorf("upload part %d of %s: %w", *num, *u.key, err)
	}
	u.parts = append(u.parts, types.CompletedPart{ETag: out.ETag, PartNumber: num})
	u.buf = u.buf[:0]
	return nil
}

func (u *s3Upload) Commit() error {
	if u.done {
		return errors.New("snapshot upload already finished")
	}
	if u.err != nil {
		return u.err
	}
	bucket := aws.String(u.b.opts.Bucket)
	if u.uploadID == nil {
		u.done = true
		_, err := u.b.client.PutObject(u.ctx, &s3.PutObjectInput{
			Bucket: bucket, Key: u.key, Body: bytes.NewReader(u.buf), ContentLength: aws.Int64(int64(len(u.buf))),
		})
		if err != nil {
			return fmt.Errorf("put %s: %w", *u.key, err)
		}
		return nil
	}
	if len(u.buf) > 0 {
		if err := u.uploadPart(); err != nil {
			return err
		}
	}
	_, err := u.b.client.CompleteMultipartUpload(u.ctx, &s3.CompleteMultipartUploadInput{
		Bucket: bucket, Key: u.key, UploadId: u.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: u.parts},
	})
	if err != nil {
		return fmt.Errorf("complete multipart upload of %s: %w", *u.key, err)
	}
	u.done = true
	return nil
}

func (u *s3Upload) Abort() {
	if u.done {
		return
	}
	u.done = true
	if u.uploadID != nil {
		// Best effort, on a fresh context: the upload's may be cancelled.
		_, _ = u.b.client.AbortMultipartUpload(context.WithoutCancel(u.ctx), &s3.AbortMultipartUploadInput{
			Bucket: aws.String(u.b.opts.Bucket), Key: u.key, UploadId: u.uploadID,
		})
	}
}
