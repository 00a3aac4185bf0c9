echo "Hello from an image Drydock built."
echo "Base: $(cat /etc/base-image 2>/dev/null || echo unknown)"
