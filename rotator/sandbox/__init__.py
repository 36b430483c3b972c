"""Local sandbox: loopback fakes of Railway, Vercel and Resend, real app processes and PostgreSQL."""
